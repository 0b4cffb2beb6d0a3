def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.audit_events",
            event.deep_get("event", "action", default="") == "export",
            event.deep_get("onepassword", "object_type", default="") == "vault",
        ]
    ):
        return True
    return False
