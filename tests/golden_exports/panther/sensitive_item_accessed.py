def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.item_usages",
            event.deep_get("onepassword", "item_uuid", default="") == "mzijxgwfrja3tmaejsdobzqalu",
        ]
    ):
        return True
    return False
