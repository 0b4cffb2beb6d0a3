SELECT * FROM onepassword_ecs WHERE (lower(event.dataset) = lower('1password.item_usages') OR lower(event.dataset) = lower('1password.audit_events')) AND lower(event.action) = lower('share')
