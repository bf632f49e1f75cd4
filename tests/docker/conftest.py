"""Prints the docker stack's step timings at the end of the run."""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    timings = getattr(config, "_gtd_docker_timings", None)
    if not timings:
        return
    terminalreporter.section("docker stack timings (seconds)")
    for name, value in timings.items():
        terminalreporter.write_line(f"{name:>24}: {value}")
    terminalreporter.write_line("(also in .cache/docker-test-timings.json)")
