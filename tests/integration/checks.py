"""What the integration scripts share: one line per check, and the exit status they end with."""

failures = []


def check(cond, what):
    """Prints `ok` or `FAIL` and what was checked; remembers a failure. Returns cond."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def summary():
    """Prints how many checks failed; returns the exit status: 1 when any did."""
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0
