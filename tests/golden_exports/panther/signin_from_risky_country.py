def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.signin_attempts",
            event.deep_get("event", "outcome", default="") == "success",
            event.deep_get("onepassword", "country", default="") in ["CN", "IR", "KP", "RU"],
        ]
    ):
        return True
    return False
