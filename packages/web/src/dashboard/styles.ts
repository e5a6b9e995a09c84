/** The dashboard's and partner view's stylesheet (injected once by the bundle). */
export const STYLES = `
:root{--bg:#f6f7f9;--card:#fff;--text:#1b1f24;--muted:#4b5563;--line:#e3e6ea;--brand:#4f46e5;--brand-dark:#4338ca;
  --ok:#166534;--ok-bg:#dcfce7;--warn:#92400e;--warn-bg:#fef3c7;--bad:#991b1b;--bad-bg:#fee2e2;--radius:12px}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--text)}
a{color:var(--brand)}
h1{font-size:26px;line-height:1.25;margin:0 0 4px}
h2{font-size:19px;line-height:1.3;margin:0 0 12px}
h3{font-size:16px;margin:0 0 8px}
p{margin:0 0 12px}
.muted{color:var(--muted)}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.skip{position:absolute;left:8px;top:-48px;background:#fff;padding:8px 12px;border-radius:8px;z-index:10}
.skip:focus{top:8px}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
[tabindex="-1"]:focus{outline:none}

header.top{background:#fff;border-bottom:1px solid var(--line)}
.top-inner{max-width:1080px;margin:0 auto;padding:10px 20px;display:flex;align-items:center;gap:16px;flex-wrap:wrap}
.brand{font-weight:700;font-size:18px;color:var(--text);text-decoration:none;display:flex;align-items:center;gap:8px}
.brand .logo{width:26px;height:26px;border-radius:7px;background:var(--brand);display:inline-block}
nav.main-nav{flex:1}
nav.main-nav ul{list-style:none;display:flex;gap:4px;margin:0;padding:0}
nav.main-nav a{display:block;padding:8px 12px;border-radius:8px;color:var(--muted);text-decoration:none;font-weight:500;white-space:nowrap}
nav.main-nav a:hover{background:#f1f2f6;color:var(--text)}
nav.main-nav a[aria-current="page"]{background:#eef0ff;color:var(--brand-dark)}
.who{display:flex;align-items:center;gap:10px}
.pill{display:inline-block;padding:4px 10px;border-radius:999px;background:#eef0ff;color:var(--brand-dark);font-weight:600;font-size:14px;text-decoration:none;white-space:nowrap}
main{max-width:1080px;margin:0 auto;padding:24px 20px 64px}
.page-head{margin-bottom:20px}

.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:20px;margin-bottom:16px}
.grid{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(280px,1fr))}
.stats{display:grid;gap:12px;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));margin-bottom:16px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:14px 16px}
.stat .label{color:var(--muted);font-size:14px}
.stat .value{font-size:24px;font-weight:700}
.big{font-size:40px;font-weight:750;line-height:1.1;margin:4px 0}
dl.breakdown{display:grid;grid-template-columns:1fr auto;gap:6px 16px;margin:12px 0 0}
dl.breakdown dt{color:var(--muted)}
dl.breakdown dd{margin:0;text-align:right;font-variant-numeric:tabular-nums;font-weight:600}
dl.breakdown .total{border-top:1px solid var(--line);padding-top:6px}
dl.breakdown.pending{border-top:1px dashed var(--line);padding-top:10px}

button,.button{font:inherit;font-weight:600;border-radius:9px;padding:9px 16px;border:1px solid transparent;cursor:pointer;
  min-height:40px;display:inline-flex;align-items:center;justify-content:center;gap:6px;text-decoration:none}
button.primary,.button.primary{background:var(--brand);color:#fff}
button.primary:hover,.button.primary:hover{background:var(--brand-dark)}
button.secondary,.button.secondary{background:#fff;border-color:#d0d5dd;color:var(--text)}
button.secondary:hover{background:#f6f7f9}
button.danger{background:#fff;border-color:#f1b5b5;color:var(--bad)}
button.danger:hover{background:var(--bad-bg)}
button.link{background:none;border:0;color:var(--brand);padding:4px;min-height:0;text-decoration:underline;font-weight:500}
button:disabled{opacity:.55;cursor:not-allowed}
button[aria-disabled="true"]{opacity:.6;cursor:progress}
.row{display:flex;gap:10px;flex-wrap:wrap;align-items:flex-end}
.actions{display:flex;gap:10px;flex-wrap:wrap;justify-content:flex-end;margin-top:16px}

label{display:block;font-weight:600;margin-bottom:4px}
.field{margin-bottom:14px}
.hint{font-size:14px;color:var(--muted);margin-top:4px}
input:not([type]),input[type=text],input[type=email],input[type=url],input[type=password],input[type=number],input[type=search],input[type=date],select{font:inherit;width:100%;
  padding:9px 12px;border:1px solid #c5cad3;border-radius:9px;background:#fff;color:var(--text);min-height:42px}
input[aria-invalid="true"]{border-color:var(--bad)}
.field-error{color:var(--bad);font-size:14px;margin:6px 0 0}
fieldset{border:0;margin:0 0 14px;padding:0}
legend{font-weight:600;margin-bottom:8px;padding:0}
.choices{display:grid;gap:8px;grid-template-columns:repeat(auto-fill,minmax(150px,1fr))}
.choice{position:relative}
.choice input{position:absolute;opacity:0;inset:0;width:100%;height:100%;margin:0;cursor:pointer}
.choice span{display:block;padding:10px 12px;border:1px solid #d0d5dd;border-radius:10px;background:#fff}
.choice span small{display:block;color:var(--muted);font-weight:400}
.choice input:checked+span{border-color:var(--brand);box-shadow:0 0 0 2px var(--brand) inset;background:#f5f5ff}
.choice input:focus-visible+span{outline:3px solid #f59e0b;outline-offset:2px}
.inline-check{display:flex;gap:8px;align-items:center;font-weight:400}
.inline-check input{width:18px;height:18px}

.notice{padding:12px 14px;border-radius:10px;margin-bottom:16px;border:1px solid}
.notice.success{background:var(--ok-bg);color:var(--ok);border-color:#86efac}
.notice.warning{background:var(--warn-bg);color:var(--warn);border-color:#fcd34d}
.notice.error{background:var(--bad-bg);color:var(--bad);border-color:#fca5a5}
.notice.info{background:#eef0ff;color:#312e81;border-color:#c7d2fe}
.notice strong{display:block}

.tablist{display:flex;gap:4px;border-bottom:1px solid var(--line);margin-bottom:16px;overflow-x:auto}
.tablist [role=tab]{background:none;border:0;border-bottom:3px solid transparent;border-radius:0;color:var(--muted);padding:10px 14px;white-space:nowrap}
.tablist [role=tab][aria-selected=true]{color:var(--brand-dark);border-bottom-color:var(--brand)}
.tabpanel:focus-visible{outline-offset:4px}

.table-wrap{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding-bottom:8px}
th,td{text-align:left;padding:10px 8px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:13px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.num{text-align:right}
.pos{color:var(--ok)}
.neg{color:var(--text)}
.cell-stack{display:flex;flex-direction:column;min-width:0}
.tag.expired{background:var(--bad-bg);color:var(--bad);margin-left:8px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:14px;word-break:break-all}
.tag{display:inline-block;font-size:13px;padding:1px 8px;border-radius:999px;background:#f1f2f6;color:#374151;white-space:nowrap}
.plain-list{list-style:none;padding:0;margin:0}
.plain-list>li+li{border-top:1px solid var(--line);padding-top:12px}
.pager{display:flex;justify-content:space-between;align-items:center;margin-top:12px;gap:8px}

.chart-figure{margin:0}
.chart-box{width:100%}
svg.chart{width:100%;height:auto;display:block}
svg.chart .grid{stroke:#e5e7eb}
svg.chart text{font:11px system-ui,sans-serif;fill:#4b5563}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:6px 16px;padding:0;margin:10px 0}
.legend li{display:flex;align-items:center;gap:6px;font-size:14px}
.swatch{width:12px;height:12px;border-radius:3px;display:inline-block}
details.chart-data summary{cursor:pointer;color:var(--brand);margin:6px 0}

dialog.confirm{border:0;border-radius:14px;padding:24px;width:min(440px,calc(100vw - 24px));box-shadow:0 20px 60px #0004}
dialog.confirm::backdrop{background:#0f172a99}
dialog.confirm .actions{margin-top:20px}

.key-status{display:flex;justify-content:space-between;gap:10px;align-items:center;flex-wrap:wrap;margin-bottom:12px}
.plans{display:grid;gap:12px;grid-template-columns:repeat(auto-fit,minmax(200px,1fr))}
.plan{border:1px solid var(--line);border-radius:var(--radius);padding:16px;background:#fff;display:flex;flex-direction:column;gap:6px}
.plan.current{border-color:var(--brand);box-shadow:0 0 0 1px var(--brand) inset}
.plan .price{font-size:22px;font-weight:700}
.plan button{margin-top:auto}
progress{width:100%;height:10px;accent-color:var(--brand)}
.sign-in{max-width:440px;margin:8vh auto}
.codes{background:#f8fafc;border:1px dashed #c5cad3;border-radius:10px;padding:12px;max-height:240px;overflow:auto}

/* Prices, the statement and receipts */
img.logo{object-fit:contain;background:none}
.back-to-app{font-size:14px;white-space:nowrap}
.who{flex-wrap:wrap;justify-content:flex-end}
.preview-cost{font-size:20px;font-weight:700;margin:8px 0 0}
.row>.field{flex:1;min-width:140px}
tr.pending td{color:var(--muted);font-style:italic}
.statement-actions{display:flex;justify-content:flex-end;gap:10px;margin-bottom:12px;flex-wrap:wrap}
.receipt dl{display:grid;grid-template-columns:auto 1fr;gap:6px 16px;margin:16px 0}
.receipt dt{color:var(--muted)}
.receipt dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}
@media print{
  header.top,.skip,.no-print{display:none !important}
  main{padding:0}
  .card{box-shadow:none;border:0}
}

@media (max-width:600px){
  h1{font-size:22px}
  .top-inner{padding:8px 12px;gap:8px}
  nav.main-nav{order:3;flex-basis:100%}
  nav.main-nav ul{flex-wrap:wrap}
  table.responsive th::before,table.responsive td::before{flex-shrink:0}
  table.responsive td>*,table.responsive th>*{min-width:0}
  .cell-stack{align-items:flex-end;text-align:right}
  main{padding:16px 12px 48px}
  .card{padding:16px}
  .big{font-size:34px}
  table.responsive thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0)}
  table.responsive tr{display:block;border-bottom:1px solid var(--line);padding:8px 0}
  table.responsive th,table.responsive td{display:flex;justify-content:space-between;gap:12px;border:0;padding:3px 0;text-align:right}
  table.responsive th::before,table.responsive td::before{content:attr(data-label);color:var(--muted);font-weight:500;text-align:left}
  .actions{justify-content:stretch}
  .actions>button{flex:1}
}
`;
