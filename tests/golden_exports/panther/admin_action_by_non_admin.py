def rule(event):
    if all(
        [
            any(
                [
                    all(
                        [
                            event.deep_get("event", "dataset", default="")
                            == "1password.audit_events",
                            event.deep_get("event", "action", default="") == "create",
                            event.deep_get("onepassword", "object_type", default="") == "invite",
                        ]
                    ),
                    all(
                        [
                            event.deep_get("event", "dataset", default="")
                            == "1password.audit_events",
                            event.deep_get("event", "action", default="") == "beginr",
                            event.deep_get("onepassword", "object_type", default="") == "user",
                        ]
                    ),
                    all(
                        [
                            event.deep_get("event", "dataset", default="")
                            == "1password.audit_events",
                            event.deep_get("event", "action", default="") in ["join", "role"],
                            event.deep_get("onepassword", "object_type", default="") == "gm",
                            event.deep_get("onepassword", "object_uuid", default="")
                            == "mwv2mk3n3pfpeqrxgux5xu2xc5",
                        ]
                    ),
                    all(
                        [
                            event.deep_get("event", "dataset", default="")
                            == "1password.audit_events",
                            event.deep_get("event", "action", default="") in ["grant", "update"],
                            event.deep_get("onepassword", "object_type", default="")
                            in ["uva", "gva"],
                            event.deep_get("onepassword", "object_uuid", default="")
                            == "aqk6toxie3nopus2rmrgtn4swg",
                        ]
                    ),
                ]
            ),
            not any(
                [
                    event.deep_get("user", "id", default="")
                    in ["alice.kowalski@acme.example", "Carol N'Diaye"],
                    event.deep_get("user", "email", default="")
                    in ["alice.kowalski@acme.example", "Carol N'Diaye"],
                    event.deep_get("user", "name", default="")
                    in ["alice.kowalski@acme.example", "Carol N'Diaye"],
                ]
            ),
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
