"""Jinja templates of the duty pages and the printable report: bilingual (Chinese first),
self-contained (no external assets), large touch targets for a tablet, and stable ids and
names on every control so a browser test can drive them."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

__all__ = ["STATE_NAMES", "render"]

STATE_NAMES = {
    "upcoming": "未开始 upcoming",
    "open": "待检 open",
    "done": "已完成 done",
    "done_late": "逾期完成 done late",
    "overdue": "逾期 overdue",
    "missed": "漏检 missed",
}
OUTCOME_NAMES = {
    "pass": "合格 pass",
    "fail": "不合格 fail",
    "no_data": "无数据 no data",
    "pending": "待填 pending",
}

_BASE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}巡检 Inspections{% endblock %} — trunkwatch</title>
<style>
:root{--ok:#2e7d32;--bad:#c62828;--warn:#ef6c00;--mute:#607d8b;--bg:#f5f6f7}
*{box-sizing:border-box}
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:0;
 background:var(--bg); color:#1c1c1c;font-size:17px;line-height:1.45}
header{background:#17324d;color:#fff;padding:.7rem 1rem;display:flex;gap:1rem;align-items:center;
 flex-wrap:wrap}
header h1{font-size:1.15rem;margin:0;flex:1}header a,header button{color:#fff}
main{max-width:60rem;margin:0 auto;padding:1rem}
a{color:#0b57a4}
.card{background:#fff;border-radius:.6rem;padding:.8rem 1rem;margin:.7rem 0;
 border-left:.5rem solid var(--mute);box-shadow:0 1px 2px #0002}
.card.overdue,.card.missed{border-color:var(--bad)}.card.open{border-color:var(--warn)}
.card.done{border-color:var(--ok)}.card.done_late{border-color:#9e9d24}
.card h2{font-size:1.05rem;margin:0 0 .3rem}
.meta{color:#555;font-size:.92rem}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:1rem;font-size:.85rem;color:#fff;
 background:var(--mute)}
.badge.overdue,.badge.missed,.badge.fail,.badge.no_data{background:var(--bad)}
.badge.open,.badge.pending{background:var(--warn)}.badge.done,.badge.pass{background:var(--ok)}
.badge.done_late{background:#9e9d24}
button,.button{font:inherit;min-height:2.9rem;min-width:6rem;padding:.5rem 1.1rem;
 border-radius:.5rem;border:0;background:#0b57a4;color:#fff;cursor:pointer;text-decoration:none;
 display:inline-flex;align-items:center;justify-content:center}
button.secondary{background:#546e7a}button.sign{background:var(--ok)}
header button{background:transparent;border:1px solid #fff8;min-height:2.2rem}
fieldset{border:1px solid #ccd;border-radius:.5rem;margin:.7rem 0;padding:.6rem .9rem;
 background:#fff}
fieldset.invalid{border:2px solid var(--bad)}
legend{font-weight:600;padding:0 .3rem}
input[type=text],input[type=password],textarea{font:inherit;width:100%;padding:.55rem;
 border:1px solid #aab;border-radius:.4rem;min-height:2.9rem}
textarea{min-height:3.2rem}
label.block{display:block;margin-top:.5rem}
label.choice{display:inline-flex;align-items:center;gap:.4rem;margin-right:1.2rem;
 min-height:2.9rem}
label.choice input{width:1.5rem;height:1.5rem}
.error{color:var(--bad);font-weight:600}
.flash{background:#e8f5e9;border:1px solid var(--ok);padding:.6rem .9rem;border-radius:.5rem}
.problem{background:#ffebee;border:1px solid var(--bad);padding:.6rem .9rem;border-radius:.5rem}
.actions{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ccd;padding:.35rem .5rem;text-align:left;font-size:.92rem}
th{background:#eef1f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
@media print{header,.actions,form{display:none}body{background:#fff}main{max-width:none}}
</style></head><body>
<header><h1>{% block heading %}巡检 Inspections{% endblock %}</h1>
{% if person %}<span id="whoami">{{ person.label }}</span>
<a href="/inspections">今日巡检 Today</a>
<a href="/inspections/report">合规报表 Report</a>
<form method="post" action="/inspections/logout" style="display:inline">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button id="logout" type="submit">退出 Sign out</button></form>{% endif %}
</header>
<main>{% block main %}{% endblock %}</main>
</body></html>
"""

_LOGIN = """{% extends "base.html" %}
{% block title %}登录 Sign in{% endblock %}
{% block heading %}巡检登录 Inspection sign-in{% endblock %}
{% block main %}
{% if error %}<p class="problem" id="error">{{ error }}</p>{% endif %}
<form method="post" action="/inspections/login" id="login-form">
<fieldset><legend>个人令牌 Personal token</legend>
<input type="password" name="token" id="token" autocomplete="current-password" required
 autofocus></fieldset>
<div class="actions"><button type="submit" id="login">登录 Sign in</button></div>
</form>
{% endblock %}
"""

_INDEX = """{% extends "base.html" %}
{% block title %}今日巡检 Today's rounds{% endblock %}
{% block heading %}今日巡检 Today's rounds — {{ centre }}{% endblock %}
{% block main %}
{% if flash %}<p class="flash" id="flash">{{ flash }}</p>{% endif %}
{% if error %}<p class="problem" id="error">{{ error }}</p>{% endif %}
<p class="meta">{{ now }} · {% if show_all %}全部巡检 all rounds ·
<a id="show-mine" href="/inspections">只看我的 mine only</a>
{% else %}我的巡检 my rounds · <a id="show-all" href="/inspections?all=1">全部 all</a>{% endif %}
{% if feed_url %} · <a id="feed" href="{{ feed_url }}">日历订阅 iCalendar</a>{% endif %}</p>
{% for e in entries %}
<section class="card {{ e.state }}" id="round-{{ e.plan_id }}--{{ e.target_id }}"
 data-plan="{{ e.plan_id }}" data-target="{{ e.target }}" data-state="{{ e.state }}">
<h2>{{ e.title }}</h2>
<div><span class="badge {{ e.state }}">{{ state_names[e.state] }}</span>
 {{ e.frequency }} · <b>{{ e.target_name }}</b> · {{ e.period }}</div>
<div class="meta">截止 due {{ e.due }}{% if e.grace %} (宽限 grace {{ e.grace }}){% endif %}
 · 责任人 owner {{ e.owner }}{% if e.deputy %} · 代理人 deputy {{ e.deputy }}{% endif %}
 {% if e.completed %}· 签字 signed {{ e.completed }} {{ e.completed_by }}{% endif %}</div>
<div class="actions">
{% if e.record %}<a class="button secondary" href="/inspections/rounds/{{ e.record }}"
 id="view-{{ e.plan_id }}--{{ e.target_id }}">查看记录 View record</a>
{% elif e.draft %}<a class="button" href="/inspections/rounds/{{ e.draft }}"
 id="continue-{{ e.plan_id }}--{{ e.target_id }}">继续填写 Continue</a>
{% elif e.can_start %}<form method="post" action="/inspections/open">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="plan" value="{{ e.plan_id }}">
<input type="hidden" name="target" value="{{ e.target }}">
<button type="submit" id="start-{{ e.plan_id }}--{{ e.target_id }}">开始巡检 Start</button>
</form>{% endif %}
</div></section>
{% else %}<p id="nothing">今日无巡检任务 No rounds for you today.</p>{% endfor %}
{% if follow_ups %}<h2>未关闭整改 Open follow-ups</h2>
{% for f in follow_ups %}<section class="card overdue" id="follow-up-{{ f.id }}">
<div><b>{{ f.plan }}</b> · {{ f.target }} · {{ f.item }}</div>
<div class="meta">{{ f.opened }} {{ f.opened_by }}: {{ f.note }}</div>
<form method="post" action="/inspections/follow-ups/{{ f.id }}/close">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="text" name="note" placeholder="整改结果 What was done" required>
<div class="actions"><button type="submit" class="secondary">关闭整改 Close</button></div>
</form></section>{% endfor %}{% endif %}
{% endblock %}
"""

_ROUND = """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block heading %}{{ title }}{% endblock %}
{% block main %}
{% if flash %}<p class="flash" id="flash">{{ flash }}</p>{% endif %}
{% if error %}<p class="problem" id="error">{{ error }}</p>{% endif %}
<p><b>{{ target_name }}</b> · {{ period }} · 截止 due {{ due }}
 · <span class="badge {{ state }}" id="state">{{ state_names[state] }}</span></p>
{% if signed %}<p id="signed">签字确认 Signed by <b id="signed-by">{{ signed_by }}</b>
 at <span id="signed-at">{{ signed_at }}</span>{% if corrects %} · 更正 corrects
 <a href="/inspections/rounds/{{ corrects }}">{{ corrects[:8] }}</a>: {{ reason }}{% endif %}
 {% if corrected_by %} · 已被更正 corrected by
 <a id="corrected-by" href="/inspections/rounds/{{ corrected_by }}">{{ corrected_by[:8] }}</a>
 {% endif %}</p>{% endif %}
<form method="post" action="/inspections/rounds/{{ round_id }}" id="round-form">
<input type="hidden" name="csrf" value="{{ csrf }}">
{% for it in items %}
<fieldset id="item-{{ it.id }}" class="{{ 'invalid' if it.problem }}" data-kind="{{ it.kind }}"
 data-outcome="{{ it.outcome }}">
<legend>{{ it.title }}</legend>
{% if it.guide %}<div class="meta">{{ it.guide }}</div>{% endif %}
<div><span class="badge {{ it.outcome }}" id="outcome-{{ it.id }}">
{{- outcome_names[it.outcome] }}</span>
{% if it.discrepancy %}<span class="badge fail" id="discrepancy-{{ it.id }}">
{{- "与实测不符 discrepancy" }}</span>{% endif %}
<span class="meta">{{ it.detail }}</span></div>
{% if it.kind == "reading" %}
<label class="block">读数 Reading{% if it.unit %} ({{ it.unit }}){% endif %}
 — 合格 accept {{ it.accept }}
<input type="text" inputmode="decimal" name="value.{{ it.id }}" id="value-{{ it.id }}"
 value="{{ it.value or '' }}" {{ 'disabled' if readonly }}></label>
{% elif it.kind == "confirmation" %}
<label class="choice"><input type="radio" name="value.{{ it.id }}" id="value-{{ it.id }}-yes"
 value="yes" {{ 'checked' if it.value == 'yes' }} {{ 'disabled' if readonly }}> 是 yes</label>
<label class="choice"><input type="radio" name="value.{{ it.id }}" id="value-{{ it.id }}-no"
 value="no" {{ 'checked' if it.value == 'no' }} {{ 'disabled' if readonly }}> 否 no</label>
{% endif %}
<label class="block">说明 Note<textarea name="note.{{ it.id }}" id="note-{{ it.id }}"
 {{ 'disabled' if readonly }}>{{ it.note }}</textarea></label>
{% if it.problem %}<div class="error" id="problem-{{ it.id }}">{{ it.problem }}</div>{% endif %}
</fieldset>
{% endfor %}
{% if correcting %}<fieldset><legend>更正原因 Reason for the correction</legend>
<textarea name="reason" id="reason" required>{{ reason_input }}</textarea></fieldset>{% endif %}
<div class="actions">
{% if not signed %}
<button type="submit" name="action" value="save" id="save" class="secondary">保存 Save</button>
<button type="submit" name="action" value="sign" id="sign" class="sign">签字确认 Sign</button>
{% elif correcting %}
<button type="submit" name="action" value="correct" id="correct">提交更正 Submit correction</button>
{% elif can_correct %}
<a class="button secondary" id="start-correction"
 href="/inspections/rounds/{{ round_id }}?correct=1">更正 Correct</a>
{% endif %}
<a class="button secondary" href="/inspections" id="back">返回 Back</a>
</div>
</form>
{% endblock %}
"""

_MESSAGE = """{% extends "base.html" %}
{% block main %}<p class="problem" id="error">{{ error }}</p>
<p><a class="button" href="/inspections">返回 Back</a></p>{% endblock %}
"""

_REPORT = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>巡检合规月报 Inspection compliance {{ month }} — {{ centre }}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#111;font-size:14px}
h1{font-size:1.35rem;margin:0}h2{font-size:1.1rem;margin:1.4rem 0 .4rem;
 border-bottom:2px solid #17324d}
table{border-collapse:collapse;width:100%;margin:.3rem 0 1rem}
th,td{border:1px solid #999;padding:.25rem .45rem;text-align:left}
th{background:#e8ecf0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.low{color:#b71c1c;font-weight:700}.meta{color:#444}
.sign{margin-top:2.5rem;display:flex;gap:4rem}.sign div{border-top:1px solid #333;
 padding-top:.3rem;min-width:14rem}
@media print{body{margin:0}a{color:#000;text-decoration:none}
 h2{break-after:avoid}tr{break-inside:avoid}}
</style></head><body>
<h1>巡检合规月报 Monthly inspection compliance report</h1>
<p class="meta">{{ centre }} · {{ month }} · 生成于 generated {{ generated }}
 · 截至 as of {{ as_of }}</p>
<p>合规率 = 按时完成 ÷ 应检（已到期或已完成）。Compliance = on time ÷ due (deadline passed or
 signed). 逾期完成、逾期、漏检均计为不合规 Late, overdue and missed rounds count against it.</p>
{% for section in sections %}
<h2>{{ section.title }}</h2>
<table id="by-{{ section.key }}"><thead><tr><th>{{ section.column }}</th>
<th>应检 due</th><th>按时 on time</th><th>逾期完成 late</th><th>逾期 overdue</th>
<th>漏检 missed</th><th>未到期 not yet due</th><th>不合格项 failed items</th>
<th>合规率 compliance</th></tr></thead><tbody>
{% for row in section.rows %}<tr>
<td>{{ row.name }}</td><td class="num">{{ row.due }}</td><td class="num">{{ row.done }}</td>
<td class="num">{{ row.done_late }}</td><td class="num">{{ row.overdue }}</td>
<td class="num">{{ row.missed }}</td><td class="num">{{ row.pending }}</td>
<td class="num">{{ row.failed_items }}</td>
<td class="num {{ 'low' if row.ratio is not none and row.ratio < 0.9 }}">{{ row.ratio_text }}</td>
</tr>{% endfor %}
</tbody></table>
{% endfor %}
<h2>未按时完成明细 Rounds not done on time</h2>
<table id="exceptions"><thead><tr><th>计划 plan</th><th>对象 target</th><th>周期 period</th>
<th>截止 due</th><th>状态 state</th><th>责任人 owner</th><th>签字 signed</th></tr></thead><tbody>
{% for r in exceptions %}<tr><td>{{ r.plan }}</td><td>{{ r.target }}</td><td>{{ r.period }}</td>
<td>{{ r.due }}</td><td>{{ r.state }}</td><td>{{ r.owner }}</td><td>{{ r.signed }}</td></tr>
{% else %}<tr><td colspan="7">无 none</td></tr>{% endfor %}
</tbody></table>
<div class="sign"><div>审核人 Supervisor</div><div>日期 Date</div></div>
</body></html>
"""

_ENV = Environment(
    loader=DictLoader(
        {
            "base.html": _BASE,
            "login.html": _LOGIN,
            "index.html": _INDEX,
            "round.html": _ROUND,
            "message.html": _MESSAGE,
            "report.html": _REPORT,
        }
    ),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(name: str, **context: object) -> str:
    """Render a template; every value is HTML-escaped unless marked safe."""
    context.setdefault("state_names", STATE_NAMES)
    context.setdefault("outcome_names", OUTCOME_NAMES)
    context.setdefault("person", None)
    context.setdefault("csrf", "")
    return _ENV.get_template(name).render(**context)
