SELECT * FROM onepassword_ecs WHERE lower(event.dataset) = lower('1password.audit_events') AND lower(event.action) = lower('beginr') AND lower(onepassword.object_type) = lower('user')
