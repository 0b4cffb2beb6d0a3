def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="")
            in ["1password.item_usages", "1password.audit_events"],
            event.deep_get("event", "action", default="") == "share",
        ]
    ):
        return True
    return False
