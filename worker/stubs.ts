/** Durable Object stubs by name: one JobObject per job id, one TenantObject per tenant. */
export function jobStub(env: Env, jobId: string) {
  return env.JOBS.get(env.JOBS.idFromName(jobId));
}

export function tenantStub(env: Env, tenant: string) {
  return env.TENANTS.get(env.TENANTS.idFromName(tenant));
}
