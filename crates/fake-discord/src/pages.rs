//! HTML: the live view of the demo guild, the OAuth2 sign-in page, and edge error pages.

use crate::http::Resp;
use crate::oauth::AuthorizeParams;
use crate::state::State;
use crate::util::html_escape as esc;

const STYLE: &str = r#"
:root { color-scheme: dark; --bg:#313338; --side:#2b2d31; --side2:#1e1f22; --text:#dbdee1;
  --muted:#949ba4; --link:#00a8fc; --accent:#5865f2; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.4 "gg sans","Noto Sans","Helvetica Neue",Helvetica,Arial,sans-serif;
  background: var(--bg); color: var(--text); }
a { color: var(--link); }
.card { max-width: 480px; margin: 8vh auto; background: var(--side); border-radius: 8px; padding: 24px 32px; }
.card h1 { font-size: 20px; margin: 0 0 8px; }
.muted { color: var(--muted); font-size: 13px; }
.user { display:flex; align-items:center; gap:12px; width:100%; margin:8px 0; padding:10px 12px;
  background: var(--side2); color: var(--text); border:0; border-radius:6px; font:inherit; cursor:pointer; text-align:left; }
.user:hover { background:#404249; }
.avatar { width:40px; height:40px; border-radius:50%; background: var(--accent); display:grid;
  place-items:center; font-weight:600; color:white; flex:none; overflow:hidden; }
.avatar img { width:100%; height:100%; object-fit:cover; }
.deny { background:transparent; color:var(--muted); border:0; font:inherit; cursor:pointer; margin-top:12px; }
.scopes { margin: 12px 0; padding-left: 18px; }
"#;

fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into())
}

pub fn oauth_error(title: &str, detail: &str) -> Resp {
    Resp::html(
        400,
        format!(
            "<!doctype html><html><head><meta charset=utf-8><title>{t} | Discord</title><style>{STYLE}</style></head>\
             <body><div class=card><h1>{t}</h1><p class=muted>{d}</p></div></body></html>",
            t = esc(title),
            d = esc(detail)
        ),
    )
}

/// The sign-in page: every person in the fake (not bots, not bulk members) is one button.
pub fn authorize(st: &State, p: &AuthorizeParams) -> Resp {
    let hidden = |k: &str, v: &str| {
        format!(
            "<input type=hidden name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        )
    };
    let mut fields = hidden("client_id", &p.client_id)
        + &hidden("redirect_uri", &p.redirect_uri)
        + &hidden("response_type", &p.response_type)
        + &hidden("scope", &p.scope);
    if let Some(s) = &p.state {
        fields += &hidden("state", s);
    }
    let mut users = String::new();
    for u in st
        .users
        .values()
        .filter(|u| !u.bot && u.generated.is_none())
    {
        let member = st
            .guilds
            .get(&st.guild_id)
            .is_some_and(|g| g.members.contains_key(&u.id));
        let display = u.global_name.clone().unwrap_or_else(|| u.username.clone());
        users += &format!(
            "<button class=user name=user_id value=\"{id}\" data-username=\"{un}\"><span class=avatar>{i}</span>\
             <span><b>{d}</b><br><span class=muted>@{un}{m}</span></span></button>",
            id = u.id,
            un = esc(&u.username),
            i = esc(&initial(&display)),
            d = esc(&display),
            m = if member { " · in the demo guild" } else { "" },
        );
    }
    let scopes: String = p
        .scope
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", esc(s)))
        .collect();
    let app = st
        .users
        .get(&st.bot_id)
        .map(|u| u.username.clone())
        .unwrap_or_default();
    Resp::html(
        200,
        format!(
            "<!doctype html><html><head><meta charset=utf-8><title>Discord | Authorize access to your account</title>\
             <style>{STYLE}</style></head><body><div class=card>\
             <h1>{app} wants to access your account</h1>\
             <p class=muted>Fake Discord: pick who you are. This will redirect to {r}</p>\
             <ul class=scopes>{scopes}</ul>\
             <form method=post action=\"/oauth2/authorize\">{fields}{users}\
             <button class=deny name=deny value=1>Cancel</button></form></div></body></html>",
            app = esc(&app),
            r = esc(&p.redirect_uri),
        ),
    )
}

/// What Cloudflare answers in front of Discord once an IP is banned (error 1015).
pub fn cloudflare_1015(ray: &str) -> Resp {
    Resp::html(
        429,
        format!(
            "<!DOCTYPE html>\n<!--[if lt IE 7]> <html class=\"no-js ie6 oldie\" lang=\"en-US\"> <![endif]-->\n\
             <html class=\"no-js\" lang=\"en-US\"><head><title>Access denied | discord.com used Cloudflare to restrict access</title>\
             <meta charset=\"UTF-8\" /></head><body><div id=\"cf-wrapper\"><div id=\"cf-error-details\" class=\"cf-error-details-wrapper\">\
             <div class=\"cf-wrapper cf-header cf-error-overview\"><h1><span class=\"cf-error-type\">Error</span>\
             <span class=\"cf-error-code\">1015</span></h1><h2 class=\"cf-subheadline\">You are being rate limited</h2></div>\
             <section><div class=\"cf-column\"><h2>What happened?</h2><p>The owner of this website (discord.com) has banned you \
             temporarily from accessing this website.</p></div></section>\
             <div class=\"cf-error-footer\"><p>Cloudflare Ray ID: <strong>{ray}</strong></p></div></div></div></body></html>\n"
        ),
    )
    .header("cf-ray", format!("{ray}-FRA"))
    .header("server", "cloudflare")
}

/// Cloudflare's page for an origin that did not answer (502 / 503 / 504).
pub fn cloudflare_5xx(status: u16, ray: &str) -> Resp {
    let title = match status {
        502 => "Bad gateway",
        503 => "Service unavailable",
        504 => "Gateway time-out",
        _ => "Server error",
    };
    Resp::html(
        status,
        format!(
            "<!DOCTYPE html><html lang=\"en-US\"><head><title>discord.com | {status}: {title}</title></head><body>\
             <div id=\"cf-wrapper\"><h1><span class=\"cf-error-type\">Error</span> <span class=\"code-label\">Error code {status}</span></h1>\
             <h2>{title}</h2><p>Cloudflare Ray ID: <strong>{ray}</strong></p></div></body></html>\n"
        ),
    )
    .header("cf-ray", format!("{ray}-FRA"))
    .header("server", "cloudflare")
}

/// The live view: channels on the left, the selected channel's messages, refreshed each second
/// from `/_control/view`.
pub fn index() -> Resp {
    Resp::html(200, format!("<!doctype html><html><head><meta charset=utf-8><title>Fake Discord</title><style>{STYLE}{INDEX_STYLE}</style></head><body>{INDEX_BODY}<script>{INDEX_SCRIPT}</script></body></html>"))
}

const INDEX_STYLE: &str = r#"
body { display:grid; grid-template-columns: 240px 1fr 240px; height:100vh; overflow:hidden; }
aside { background: var(--side); overflow-y:auto; padding: 0 12px 16px; }
aside h2 { font-size:12px; text-transform:uppercase; color:var(--muted); margin:16px 0 8px; }
.mem { padding:6px 0; border-bottom:1px solid #1f2023; }
.mem .who { display:block; }
.role { display:inline-block; font-size:11px; border:1px solid; border-radius:10px; padding:0 6px; margin:2px 2px 0 0; }
nav { background: var(--side); overflow-y:auto; padding: 0 8px 16px; }
nav h1 { font-size:15px; margin:0 -8px 8px; padding:14px 16px; border-bottom:1px solid #1f2023; }
.cat { text-transform:uppercase; font-size:12px; font-weight:700; color:var(--muted); margin:16px 8px 4px; }
.ch { display:block; padding:6px 8px; border-radius:4px; color:var(--muted); text-decoration:none; cursor:pointer; }
.ch:hover { background:#35373c; color:var(--text); }
.ch.sel { background:#404249; color:white; }
.ch.thread { padding-left:28px; font-size:14px; }
.ch .n { float:right; font-size:12px; }
main { display:flex; flex-direction:column; overflow:hidden; }
header { padding:12px 16px; border-bottom:1px solid #26272b; font-weight:600; }
header .muted { font-weight:400; margin-left:8px; }
#msgs { flex:1; overflow-y:auto; padding:16px 0; }
.msg { display:flex; gap:16px; padding:4px 16px; }
.msg:hover { background:#2e3035; }
.msg .body { min-width:0; }
.who { font-weight:600; color:white; }
.tag { background:var(--accent); color:white; font-size:10px; border-radius:3px; padding:1px 4px; margin-left:4px; vertical-align:2px; }
.when { color:var(--muted); font-size:12px; margin-left:6px; }
.content { white-space:pre-wrap; word-wrap:break-word; }
.content .quote { border-left:4px solid #4e5058; padding-left:8px; color:#b5bac1; }
.content a { color:#00a8fc; text-decoration:none; }
.embed { border-left:4px solid #1e1f22; background:#2b2d31; border-radius:4px; padding:8px 12px; margin:4px 0; max-width:520px; }
.embed .t { font-weight:600; color:white; }
.embed .ea { display:flex; align-items:center; gap:6px; } .embed .ea img { width:20px; height:20px; border-radius:50%; }
.embed .fields { display:flex; flex-wrap:wrap; column-gap:16px; }
.embed .f { margin-top:4px; flex:1 1 100%; } .embed .f.inline { flex:0 1 30%; min-width:120px; }
.embed .fn { font-weight:600; font-size:13px; }
.att img { max-width:400px; max-height:300px; border-radius:6px; display:block; margin-top:4px; }
.att a { display:inline-block; margin-top:4px; }
.ping { background:rgba(250,166,26,.12); border-left:2px solid #f0b232; }
.empty { color:var(--muted); padding:24px 16px; }
"#;

const INDEX_BODY: &str = r#"<nav><h1 id=guild>Fake Discord</h1><div id=chans></div></nav>
<main><header><span id=title># </span><span class=muted id=topic></span></header><div id=msgs></div></main>
<aside><h2>Members</h2><div id=members></div></aside>"#;

const INDEX_SCRIPT: &str = r#"
let selected = localStorage.getItem('fake-discord-channel');
let lastKey = '';
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
// Plain glyphs: machines without an emoji font still draw them.
const icon = t => t === 15 ? '≡ ' : t === 2 ? '♪ ' : t === 5 ? '» ' : t >= 10 && t <= 12 ? '↳ ' : '# ';
function avatar(m) {
  const name = m.author_name || '?';
  const img = m.avatar_url ? `<img src="${esc(m.avatar_url)}" alt="" onerror="this.remove()">` : '';
  return `<span class=avatar style="background:hsl(${[...name].reduce((a, c) => a + c.charCodeAt(0), 0) % 360} 50% 45%)">${img || esc(name[0].toUpperCase())}</span>`;
}
// The little markdown mirrored posts use: "> " quote lines and [label](https://…) links.
function md(text) {
  return String(text ?? '').split('\n').map(line => {
    let h = esc(line).replace(/\[([^\]]*)\]\((https?:\/\/[^\s)]+)\)/g, (_, l, u) => `<a href="${u}">${l}</a>`);
    return h.startsWith('&gt; ') ? `<span class=quote>${h.slice(5)}</span>` : h;
  }).join('\n');
}
function embed(e) {
  const color = e.color ? `border-left-color:#${e.color.toString(16).padStart(6, '0')}` : '';
  const fields = (e.fields || []).map(f => `<div class="f${f.inline ? ' inline' : ''}"><div class=fn>${esc(f.name)}</div><div>${esc(f.value)}</div></div>`).join('');
  return `<div class=embed style="${color}">${e.author ? `<div class="muted ea">${e.author.icon_url ? `<img src="${esc(e.author.icon_url)}" alt="" onerror="this.remove()">` : ''}${esc(e.author.name)}</div>` : ''}${e.title ? `<div class=t>${esc(e.title)}</div>` : ''}${e.description ? `<div class=content>${esc(e.description)}</div>` : ''}<div class=fields>${fields}</div>${e.footer ? `<div class="muted f">${esc(e.footer.text)}</div>` : ''}</div>`;
}
function att(a) {
  return (a.content_type || '').startsWith('image/') ? `<div class=att><img src="${esc(a.url)}" alt="${esc(a.filename)}"></div>` : `<div class=att><a href="${esc(a.url)}">📎 ${esc(a.filename)}</a> <span class=muted>${a.size} bytes</span></div>`;
}
function render(v) {
  document.getElementById('guild').textContent = v.guild.name;
  document.title = v.guild.name + ' · Fake Discord';
  if (!selected || !v.channels.some(c => c.id === selected)) selected = (v.channels.find(c => c.type === 0) || v.channels[0] || {}).id;
  let html = '', cat = null;
  for (const c of v.channels) {
    if (c.type === 4) { html += `<div class=cat>${esc(c.name)}</div>`; continue; }
    const cls = 'ch' + (c.id === selected ? ' sel' : '') + (c.thread ? ' thread' : '');
    html += `<a class="${cls}" data-id="${c.id}">${icon(c.type)}${esc(c.name)}${c.message_count ? `<span class=n>${c.message_count}</span>` : ''}</a>`;
  }
  document.getElementById('chans').innerHTML = html;
  const hex = c => c ? '#' + c.toString(16).padStart(6, '0') : '#99aab5';
  document.getElementById('members').innerHTML = (v.members || []).map(m => `<div class=mem data-user="${esc(m.id)}"><span class=who>${esc(m.name)}${m.bot ? '<span class=tag>BOT</span>' : ''}</span><span class=muted>@${esc(m.username)}</span><div>${m.roles.map(r => `<span class=role data-role="${esc(r.id)}" style="border-color:${hex(r.color)};color:${hex(r.color)}">${esc(r.name)}</span>`).join('')}</div></div>`).join('');
  const ch = v.channels.find(c => c.id === selected) || {};
  document.getElementById('title').textContent = icon(ch.type) + (ch.name || '');
  document.getElementById('topic').textContent = ch.topic || '';
  const msgs = v.messages[selected] || [];
  const key = selected + JSON.stringify(msgs);
  if (key === lastKey) return;
  lastKey = key;
  const box = document.getElementById('msgs');
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
  box.innerHTML = msgs.length ? msgs.map(m => `<div class="msg${m.pings ? ' ping' : ''}">${avatar(m)}<div class=body>
    <span class=who>${esc(m.author_name)}</span>${m.webhook ? '<span class=tag>APP</span>' : m.bot ? '<span class=tag>BOT</span>' : ''}
    <span class=when>${new Date(m.timestamp).toLocaleTimeString()}${m.edited ? ' (edited)' : ''}</span>
    <div class=content>${md(m.content)}</div>${(m.embeds || []).map(embed).join('')}${(m.attachments || []).map(att).join('')}</div></div>`).join('')
    : '<div class=empty>No messages here yet.</div>';
  if (atBottom) box.scrollTop = box.scrollHeight;
}
document.getElementById('chans').addEventListener('click', e => {
  const a = e.target.closest('[data-id]');
  if (!a) return;
  selected = a.dataset.id;
  localStorage.setItem('fake-discord-channel', selected);
  lastKey = '';
  tick();
});
async function tick() {
  try { render(await (await fetch('/_control/view')).json()); } catch (e) { /* the server restarts between runs */ }
}
tick();
setInterval(tick, 1000);
"#;
