def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.audit_events",
            event.deep_get("event", "action", default="") == "disblmfa",
            event.deep_get("onepassword", "object_type", default="") == "account",
        ]
    ):
        return True
    return False
