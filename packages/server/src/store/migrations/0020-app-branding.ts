/**
 * How an app looks to its customers on the dashboard: its logo, its accent colour and the address
 * of the app to go back to. Checked at the API edge (https URLs only, colour `#rrggbb`) and again
 * here, so no other writer can store what a page would then render.
 */
export const up = `
alter table apps add column logo_url text check (logo_url is null or (logo_url like 'https://%' and length(logo_url) <= 2000));
alter table apps add column accent_color text check (accent_color is null or accent_color ~ '^#[0-9a-f]{6}$');
alter table apps add column website_url text check (website_url is null or (website_url like 'https://%' and length(website_url) <= 2000));
`;
