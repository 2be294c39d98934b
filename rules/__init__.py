"""The pure domain of aeflow: model, policies, working days, planner.

Nothing in this package reads a clock, a file or the network; it imports nothing of the project.
"""
