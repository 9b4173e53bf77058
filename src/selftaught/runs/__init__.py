"""Run machinery: how any run (STOP, an evaluation, an experiment, an audit) is opened, recorded and ended."""
