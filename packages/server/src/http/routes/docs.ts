import type { FastifyInstance } from 'fastify';

/** `/openapi.json` from the route list, and a small self-contained reference page at `/docs`. */
export function docsRoutes(http: FastifyInstance, document: () => unknown): void {
  let cached: unknown;
  http.get('/openapi.json', async () => {
    cached ??= document();
    return cached;
  });
  http.get('/docs', async (_request, reply) => {
    reply.type('text/html; charset=utf-8').send(DOCS_PAGE);
  });
}

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tollgate API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:24px;color:#1b1f24}
h1{font-size:24px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
.route{margin:12px 0;padding:10px 12px;border:1px solid #e3e6ea;border-radius:8px}
.method{display:inline-block;min-width:64px;font-weight:700;font-family:ui-monospace,monospace}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f8fa;padding:8px;overflow:auto;border-radius:6px}
.auth{color:#57606a;font-size:13px}
</style></head>
<body><h1>Tollgate API reference</h1>
<p>Generated from <a href="/openapi.json">/openapi.json</a>. Amounts are JSON numbers of credits (at most 6 decimals).
Errors are <code>{"error":{"code","message"}}</code>; every money-moving POST accepts an <code>Idempotency-Key</code> header.</p>
<main id="routes">Loading…</main>
<script>
fetch('/openapi.json').then(r=>r.json()).then(doc=>{
  const byTag={};
  for(const [path,methods] of Object.entries(doc.paths))for(const [method,op] of Object.entries(methods))
    (byTag[op.tags[0]]??=[]).push({path,method,op});
  const main=document.getElementById('routes');main.textContent='';
  for(const [tag,routes] of Object.entries(byTag)){
    const h=document.createElement('h2');h.textContent=tag;main.append(h);
    for(const {path,method,op} of routes){
      const div=document.createElement('div');div.className='route';
      const auth=op.security.length?op.security.map(s=>Object.keys(s)[0]).join(', '):'public';
      div.innerHTML='<span class="method"></span> <code class="path"></code><div class="summary"></div><div class="auth"></div>';
      div.querySelector('.method').textContent=method.toUpperCase();div.querySelector('.path').textContent=path;
      div.querySelector('.summary').textContent=op.summary;div.querySelector('.auth').textContent='auth: '+auth;
      if(op.requestBody){const pre=document.createElement('pre');pre.textContent=JSON.stringify(op.requestBody.content['application/json'].schema,null,2);div.append(pre);}
      main.append(div);
    }
  }
});
</script></body></html>`;
