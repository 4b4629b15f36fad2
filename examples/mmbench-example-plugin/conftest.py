# mmbench's opt-in pytest fixtures: mmbench_registered, mmbench_run_suite, mmbench_tiny_data.
pytest_plugins = ["mmbench.pytest_plugin"]
