def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.audit_events",
            event.deep_get("event", "action", default="") in ["grant", "update", "revoke"],
            event.deep_get("onepassword", "object_type", default="") in ["uva", "gva"],
            event.deep_get("onepassword", "object_uuid", default="")
            == "aqk6toxie3nopus2rmrgtn4swg",
        ]
    ):
        return True
    return False
