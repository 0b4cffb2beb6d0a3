def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.item_usages",
            event.deep_get("event", "action", default="") == "export",
        ]
    ):
        return True
    return False
