"""Plan models (Mesa de Trabajo, plan, actions) come with the plan issue."""
