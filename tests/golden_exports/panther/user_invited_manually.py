def rule(event):
    if all(
        [
            event.deep_get("event", "dataset", default="") == "1password.audit_events",
            event.deep_get("event", "action", default="") == "create",
            event.deep_get("onepassword", "object_type", default="") == "invite",
            not any(
                [
                    event.deep_get("user", "email", default="").endswith(
                        "@1passwordserviceaccounts.com"
                    ),
                    any(
                        [
                            event.deep_get("user", "id", default="") == "scim-bridge@acme.example",
                            event.deep_get("user", "email", default="")
                            == "scim-bridge@acme.example",
                            event.deep_get("user", "name", default="")
                            == "scim-bridge@acme.example",
                        ]
                    ),
                ]
            ),
        ]
    ):
        return True
    return False
