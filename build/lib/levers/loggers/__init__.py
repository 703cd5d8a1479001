"""Loggers levers adds to Lightning's (each named by `_target_` in conf/logger/)."""
