SELECT * FROM onepassword_ecs WHERE lower(event.dataset) = lower('1password.signin_attempts') AND lower(event.action) = lower('firewall_failed')
