export const ROLE_CHOICES = ["supplier_manager", "retail_marketer", "finance_officer", "admin"]
  .map((id) => ({ id, name: `vitrina.roles.${id}` }));
