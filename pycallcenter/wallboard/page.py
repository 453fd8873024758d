"""The wallboard page: HTML, CSS and plain JavaScript in one string (the package ships .py files only).

The page opens the CTI WebSocket (``/ws``, authenticated by the session cookie), asks for the
``wallboard`` view and redraws on every pushed ``wallboard`` event (once a board second, no polling):
wall-clock time, per queue waiting, longest wait, service level, ASA, AHT, abandon % today; centre
totals with calls in IVR; per agent state, time in state, reason, caller and queue; bar and pie charts
in inline SVG; tiles turn red when a figure crosses its ``[wallboard]`` threshold; supervisors also see
the addresses locked out after failed logins. Every number sits in
an element with a ``data-k`` key (``q.sales.waiting``, ``a.alice.state``, ``c.in_ivr``) so a test can
read them from the DOM. Large type, full width: it is made for a wall screen.
"""
import html

HTML = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Call centre wallboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html,body{margin:0;width:100%;font-family:DejaVu Sans,Arial,sans-serif;background:#101820;color:#e8eef2;font-size:1.6vw}
header{display:flex;justify-content:space-between;align-items:center;padding:.4em 1em;background:#1b2a38}
h1{font-size:1.5em;margin:0}h2{font-size:1em;margin:.8em 1em .4em;color:#9fb3c8;text-transform:uppercase}
#clock{font-size:2.2em;font-weight:bold;font-variant-numeric:tabular-nums}
#status{font-size:.7em;color:#9fb3c8}
#who{font-size:.7em;color:#9fb3c8}#who button{font-size:1em}
.row{display:flex;flex-wrap:wrap;gap:.6em;padding:0 1em}
.tile{background:#1e3142;border-radius:.4em;padding:.5em .8em;flex:1 1 28em;border:.2em solid transparent}
.tile.alert{border-color:#ff5c5c;background:#3a1e26}
.tile h3{margin:0 0 .3em;font-size:1.3em;color:#fff}
.fig{display:inline-block;margin:0 1.1em .3em 0}.fig b{display:block;font-size:2.4em;font-variant-numeric:tabular-nums}
.fig span{font-size:.7em;color:#9fb3c8}.warn b{color:#ffb347}.bad b{color:#ff5c5c}.good b{color:#6fdc8c}
.small{font-size:.8em;color:#c9d6e2}
.chart{background:#1e3142;border-radius:.4em;padding:.4em;flex:1 1 20em}.chart svg{width:100%;height:auto}
table{border-collapse:collapse;margin:0 1em 1em;width:calc(100% - 2em)}
th,td{padding:.25em .6em;text-align:left;border-bottom:1px solid #2c4358;font-size:1em}
th{color:#9fb3c8;font-size:.8em}.st{padding:.05em .4em;border-radius:.2em;color:#101820;font-weight:bold}
#alerts{color:#ff5c5c;font-weight:bold;padding:0 1em;min-height:1.2em}
</style></head>
<body data-user="{user}" data-role="{role}">
<header><h1>Call centre wallboard</h1><div id="clock" data-k="wall">--:--:--</div>
<div><div id="status">connecting&hellip;</div>
<form id="who" method="post" action="/logout">{user} ({role}) <input type="hidden" name="csrf" value="{csrf}">
<button type="submit">Log out</button></form></div></header>
<div id="alerts" data-k="alerts"></div>
<h2>Centre</h2><div class="row" id="centre"></div>
<h2>Queues</h2><div class="row" id="tiles"></div>
<h2>Charts</h2><div class="row" id="charts">
<div class="chart"><div class="small">Calls waiting per queue</div><svg id="bar" viewBox="0 0 360 220"></svg></div>
<div class="chart"><div class="small">Today per queue: answered / abandoned</div><svg id="today" viewBox="0 0 360 220"></svg></div>
<div class="chart"><div class="small">Agents by state</div><svg id="pie" viewBox="0 0 330 220"></svg></div>
</div>
<h2>Agents</h2>
<table><thead><tr><th>Agent</th><th>State</th><th>Time in state</th><th>Reason</th><th>Caller</th><th>Queue</th><th>Calls</th></tr></thead>
<tbody id="agents"></tbody></table>
<script>
"use strict";
var COLORS={ready:"#6fdc8c",ringing:"#ffd95c",talking:"#5cb8ff",wrapup:"#c792ea",paused:"#ffb347",dnd:"#ff5c5c",logged_out:"#7a8a99"};
var SVGNS="http://www.w3.org/2000/svg";
function el(tag,attrs,text){var e=document.createElement(tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
function sv(tag,attrs,text){var e=document.createElementNS(SVGNS,tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
function mmss(s){if(s===null||s===undefined)return "-";s=Math.round(s);var m=Math.floor(s/60),r=s%60;return m+":"+(r<10?"0":"")+r;}
function pct(x){return x===null||x===undefined?"-":(Math.round(x*1000)/10).toFixed(1)+"%";}
function fig(key,value,label,cls){var d=el("div",{"class":"fig "+(cls||"")});d.appendChild(el("b",{"data-k":key},value));d.appendChild(el("span",{},label));return d;}
function has(q,a){return q.alerts.indexOf(a)>=0;}
function figures(t,k,q){
  t.appendChild(fig(k+"waiting",String(q.waiting),"waiting",has(q,"waiting")?"bad":(q.waiting>0?"warn":"")));
  t.appendChild(fig(k+"longest_wait",mmss(q.longest_wait),"longest wait",has(q,"longest_wait")?"bad":""));
  var slc=q.service_level===null?"":(has(q,"service_level")?"bad":"good");
  t.appendChild(fig(k+"service_level",pct(q.service_level),"service level",slc));
  t.appendChild(fig(k+"asa",mmss(q.asa),"ASA"));
  t.appendChild(fig(k+"aht",mmss(q.aht),"AHT"));
  t.appendChild(fig(k+"abandon",pct(q.abandon),"abandoned today",has(q,"abandon")?"bad":""));
  var line=el("div",{"class":"small"});
  ["offered","answered","abandoned"].forEach(function(f,i){
    line.appendChild(document.createTextNode((i?" \u00b7 ":"")+f+" "));line.appendChild(el("span",{"data-k":k+f},String(q[f])));});
  t.appendChild(line);
  var st=el("div",{"class":"small"});
  Object.keys(COLORS).forEach(function(s){var n=q.agents[s]||0;if(!n)return;
    var b=el("span",{"class":"st",style:"background:"+COLORS[s]+";margin-right:.4em"});
    b.appendChild(document.createTextNode(s+" "));b.appendChild(el("span",{"data-k":k+"agents."+s},String(n)));st.appendChild(b);});
  t.appendChild(st);
}
function centre(v){
  var box=document.getElementById("centre");box.textContent="";
  var c=v.centre,t=el("div",{"class":"tile"+(c.alerts.length?" alert":""),"data-alerts":c.alerts.join(" ")});
  figures(t,"c.",c);
  t.insertBefore(fig("c.in_ivr",String(c.in_ivr),"in IVR"),t.children[1]);
  box.appendChild(t);
}
function tiles(v){
  var box=document.getElementById("tiles");box.textContent="";
  v.queues.forEach(function(q){
    var t=el("div",{"class":"tile"+(q.alerts.length?" alert":""),"data-queue":q.queue,"data-alerts":q.alerts.join(" ")});
    t.appendChild(el("h3",{},q.queue));figures(t,"q."+q.queue+".",q);box.appendChild(t);
  });
}
function bar(v){
  var svg=document.getElementById("bar");svg.textContent="";
  var W=360,H=220,pad=30,qs=v.queues,max=1;
  qs.forEach(function(q){max=Math.max(max,q.waiting);});
  svg.appendChild(sv("line",{x1:pad,y1:H-pad,x2:W-10,y2:H-pad,stroke:"#9fb3c8"}));
  var bw=Math.min(60,(W-pad-20)/Math.max(1,qs.length)-10);
  qs.forEach(function(q,i){
    var h=(H-2*pad)*q.waiting/max,x=pad+10+i*(bw+10);
    svg.appendChild(sv("rect",{x:x,y:H-pad-h,width:bw,height:h,fill:"#5cb8ff","data-k":"bar."+q.queue,"data-v":q.waiting}));
    svg.appendChild(sv("text",{x:x+bw/2,y:H-pad-h-4,fill:"#fff","text-anchor":"middle","font-size":"13"},String(q.waiting)));
    svg.appendChild(sv("text",{x:x+bw/2,y:H-pad+15,fill:"#9fb3c8","text-anchor":"middle","font-size":"12"},q.queue));
  });
}
function today(v){
  var svg=document.getElementById("today");svg.textContent="";
  var W=360,H=220,pad=30,qs=v.queues,max=1,series=[["answered","#6fdc8c"],["abandoned","#ff5c5c"]];
  qs.forEach(function(q){max=Math.max(max,q.answered,q.abandoned);});
  svg.appendChild(sv("line",{x1:pad,y1:H-pad,x2:W-10,y2:H-pad,stroke:"#9fb3c8"}));
  var gw=Math.min(100,(W-pad-20)/Math.max(1,qs.length)-14),bw=gw/2;
  qs.forEach(function(q,i){
    var x0=pad+10+i*(gw+14);
    series.forEach(function(s,j){
      var n=q[s[0]],h=(H-2*pad)*n/max,x=x0+j*bw;
      svg.appendChild(sv("rect",{x:x,y:H-pad-h,width:bw-2,height:h,fill:s[1],"data-k":"today."+q.queue+"."+s[0],"data-v":n}));
      svg.appendChild(sv("text",{x:x+bw/2,y:H-pad-h-4,fill:"#fff","text-anchor":"middle","font-size":"12"},String(n)));
    });
    svg.appendChild(sv("text",{x:x0+gw/2,y:H-pad+15,fill:"#9fb3c8","text-anchor":"middle","font-size":"12"},q.queue));
  });
}
function pie(v){
  var svg=document.getElementById("pie");svg.textContent="";
  var counts={},total=0;v.agents.forEach(function(a){counts[a.state]=(counts[a.state]||0)+1;total++;});
  var cx=110,cy=110,r=90,angle=-Math.PI/2,ly=20;
  Object.keys(COLORS).forEach(function(s){
    var n=counts[s]||0;if(!n)return;
    var frac=n/total,a2=angle+frac*2*Math.PI,shape;
    if(frac>=0.9999){shape=sv("circle",{cx:cx,cy:cy,r:r,fill:COLORS[s]});}
    else{var x1=cx+r*Math.cos(angle),y1=cy+r*Math.sin(angle),x2=cx+r*Math.cos(a2),y2=cy+r*Math.sin(a2);
      shape=sv("path",{d:"M"+cx+","+cy+" L"+x1+","+y1+" A"+r+","+r+" 0 "+(frac>0.5?1:0)+",1 "+x2+","+y2+" Z",fill:COLORS[s]});}
    shape.setAttribute("data-k","pie."+s);shape.setAttribute("data-v",String(n));svg.appendChild(shape);
    svg.appendChild(sv("rect",{x:230,y:ly-10,width:12,height:12,fill:COLORS[s]}));
    svg.appendChild(sv("text",{x:248,y:ly,fill:"#e8eef2","font-size":"13"},s+" ("+n+")"));
    ly+=20;angle=a2;
  });
}
function agents(v){
  var tb=document.getElementById("agents");tb.textContent="";
  v.agents.forEach(function(a){
    var tr=el("tr",{"data-agent":a.name}),k="a."+a.name+".";
    tr.appendChild(el("td",{},a.name));
    var td=el("td",{});td.appendChild(el("span",{"class":"st",style:"background:"+(COLORS[a.state]||"#ccc"),"data-k":k+"state"},a.state));tr.appendChild(td);
    tr.appendChild(el("td",{"data-k":k+"in_state"},mmss(a.in_state)));
    tr.appendChild(el("td",{"data-k":k+"reason"},a.reason||""));
    tr.appendChild(el("td",{"data-k":k+"caller"},a.caller||""));
    tr.appendChild(el("td",{"data-k":k+"queue"},a.queue||""));
    tr.appendChild(el("td",{"data-k":k+"calls"},String(a.calls)));
    tb.appendChild(tr);
  });
}
var renders=0;
function render(v){
  centre(v);tiles(v);bar(v);today(v);pie(v);agents(v);
  var c=document.getElementById("clock");c.textContent=v.wall.slice(11);c.setAttribute("data-wall",v.wall);
  var names=[];v.queues.forEach(function(q){q.alerts.forEach(function(a){names.push(q.queue+": "+a.replace("_"," "));});});
  (v.lockouts||[]).forEach(function(l){names.push("locked out "+l.source+" ("+l.failures+" failed logins)");});
  document.getElementById("alerts").textContent=names.length?"ALERT "+names.join(", "):"";
  var s=document.getElementById("status");s.textContent="board time "+mmss(v.time)+" \u00b7 live";s.setAttribute("data-time",String(v.time));
  renders++;document.body.setAttribute("data-rendered",String(renders));
}
function connect(){
  var ws=new WebSocket((location.protocol==="https:"?"wss://":"ws://")+location.host+"/ws");
  ws.onopen=function(){ws.send(JSON.stringify({cmd:"wallboard",id:"wb"}));};
  ws.onmessage=function(e){var m=JSON.parse(e.data);
    if(m.type==="reply"&&m.id==="wb")render(m);
    else if(m.type==="event"&&m.event==="wallboard")render(m);
    else if(m.type==="error"&&m.code==="not_authenticated")location.href="/";};
  ws.onclose=function(){document.getElementById("status").textContent="disconnected; reconnecting";setTimeout(connect,2000);};
}
connect();
</script>
</body></html>
"""


def page(user, role, csrf):
    """Return the wallboard page for a logged-in user (their name, role and the logout form's CSRF token)."""
    return (HTML.replace("{user}", html.escape(user)).replace("{role}", html.escape(role))
            .replace("{csrf}", html.escape(csrf)))
