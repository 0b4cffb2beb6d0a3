SELECT * FROM onepassword_ecs WHERE lower(event.dataset) = lower('1password.item_usages') AND lower(event.action) = lower('export')
