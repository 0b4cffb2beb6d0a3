def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.audit_events",
            event.deep_get("event", "action", default="") == "create",
            event.deep_get("onepassword", "object_type", default="") == "sa",
        ]
    ):
        return True
    return False
