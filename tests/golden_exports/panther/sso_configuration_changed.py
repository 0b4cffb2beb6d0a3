def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.audit_events",
            event.deep_get("event", "action", default="")
            in ["enblsso", "disblsso", "chngpsso", "chngasso", "chngdsso", "addgsso", "delgsso"],
            event.deep_get("onepassword", "object_type", default="") == "sso",
        ]
    ):
        return True
    return False
