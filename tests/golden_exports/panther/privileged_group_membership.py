def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.audit_events",
            event.deep_get("event", "action", default="") in ["join", "role"],
            event.deep_get("onepassword", "object_type", default="") == "gm",
            event.deep_get("onepassword", "object_uuid", default="")
            == "mwv2mk3n3pfpeqrxgux5xu2xc5",
        ]
    ):
        return True
    return False
