def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="")
            in ["1password.signin_attempts", "1password.item_usages"],
            any(
                [
                    all(
                        [
                            event.deep_get("onepassword", "client", "app_name", default="") == "",
                            event.deep_get("event", "outcome", default="") == "success",
                        ]
                    ),
                    all(
                        [
                            not event.deep_get("onepassword", "client", "app_name", default="")
                            == "",
                            not event.deep_get("onepassword", "client", "app_name", default="")
                            in [
                                "1Password CLI",
                                "1Password for Web",
                                "1Password for Mac",
                                "1Password SCIM Bridge",
                                "1Password for Windows",
                                "1Password for iOS",
                                "1Password Browser Extension",
                                "1Password for Android",
                                "1Password for Linux",
                                "1Password SDK",
                            ],
                        ]
                    ),
                ]
            ),
        ]
    ):
        return True
    return False
