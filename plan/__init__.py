"""Mesa de Trabajo, Plan Estratégico de Gestión, actions, indicators and follow-up."""
