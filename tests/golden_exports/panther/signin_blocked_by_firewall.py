def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.signin_attempts",
            event.deep_get("event", "action", default="") == "firewall_failed",
        ]
    ):
        return True
    return False
