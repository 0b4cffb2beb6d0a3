SELECT * FROM onepassword_ecs WHERE lower(event.dataset) = lower('1password.item_usages') AND lower(onepassword.item_uuid) = lower('mzijxgwfrja3tmaejsdobzqalu')
