/**
 * What an app allows its customers: whether they may bring their own provider keys (a stored key makes
 * their work free of credits, so an app that serves work with its own provider key forbids it), and the
 * origins a checkout may return to (success and cancel URLs elsewhere are an open redirect).
 */
export const up = `
alter table apps add column byok_allowed boolean not null default true;
alter table apps add column return_origins jsonb not null default '[]'::jsonb;
`;
