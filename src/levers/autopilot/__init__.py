"""`levers auto`: the practice guide applied end to end, each step a real run (levers.autopilot.steps)."""
