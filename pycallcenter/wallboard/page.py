"""The wallboard page: HTML, CSS and plain JavaScript in one string (the package ships .py files only).

The script polls ``/api/snapshot`` every second and renders per-queue tiles (waiting, longest
wait, service level, offered/answered/abandoned, agents by state), the agents table, bar charts
of waiting calls and of today's answered/abandoned per queue and a pie chart of agents by state,
all inline SVG. Every number sits in an element with a ``data-k`` key (``q.sales.waiting``,
``a.alice.state``) so a test can read them from the DOM.
"""

HTML = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Call centre wallboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{margin:0;font-family:DejaVu Sans,Arial,sans-serif;background:#101820;color:#e8eef2}
header{display:flex;justify-content:space-between;align-items:center;padding:10px 20px;background:#1b2a38}
h1{font-size:22px;margin:0}h2{font-size:16px;margin:16px 20px 8px;color:#9fb3c8}
#tiles{display:flex;flex-wrap:wrap;gap:14px;padding:0 20px}
.tile{background:#1e3142;border-radius:8px;padding:12px 16px;min-width:280px}
.tile h3{margin:0 0 8px;font-size:18px;color:#fff}
.fig{display:inline-block;margin:0 16px 6px 0}.fig b{display:block;font-size:30px}
.fig span{font-size:12px;color:#9fb3c8}.warn b{color:#ffb347}.bad b{color:#ff5c5c}.good b{color:#6fdc8c}
.small{font-size:13px;color:#c9d6e2}
#charts{display:flex;flex-wrap:wrap;gap:16px;padding:0 20px}
.chart{background:#1e3142;border-radius:8px;padding:10px}
table{border-collapse:collapse;margin:0 20px 20px;min-width:600px}
th,td{padding:5px 12px;text-align:left;border-bottom:1px solid #2c4358;font-size:14px}
th{color:#9fb3c8}.st{padding:2px 8px;border-radius:4px;color:#101820;font-weight:bold}
#status{font-size:13px;color:#9fb3c8}
</style></head>
<body>
<header><h1>Call centre wallboard</h1><div id="status">connecting&hellip;</div></header>
<h2>Queues</h2><div id="tiles"></div>
<h2>Charts</h2><div id="charts">
<div class="chart"><div class="small">Calls waiting per queue</div><svg id="bar" width="360" height="220"></svg></div>
<div class="chart"><div class="small">Today per queue: answered / abandoned</div><svg id="today" width="360" height="220"></svg></div>
<div class="chart"><div class="small">Agents by state</div><svg id="pie" width="330" height="220"></svg></div>
</div>
<h2>Agents</h2>
<table><thead><tr><th>Agent</th><th>State</th><th>Reason</th><th>Calls</th><th>Talk time</th><th>Queues</th></tr></thead>
<tbody id="agents"></tbody></table>
<script>
"use strict";
var COLORS={ready:"#6fdc8c",ringing:"#ffd95c",talking:"#5cb8ff",wrapup:"#c792ea",paused:"#ffb347",dnd:"#ff5c5c",logged_out:"#7a8a99"};
var SVGNS="http://www.w3.org/2000/svg";
function el(tag,attrs,text){var e=document.createElement(tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
function sv(tag,attrs,text){var e=document.createElementNS(SVGNS,tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
function mmss(s){s=Math.round(s);var m=Math.floor(s/60),r=s%60;return m+":"+(r<10?"0":"")+r;}
function pct(x){return x===null||x===undefined?"-":(Math.round(x*1000)/10).toFixed(1)+"%";}
function fig(key,value,label,cls){var d=el("div",{"class":"fig "+(cls||"")});d.appendChild(el("b",{"data-k":key},value));d.appendChild(el("span",{},label));return d;}
function tiles(snap){
  var box=document.getElementById("tiles");box.textContent="";
  snap.queues.forEach(function(q){
    var t=el("div",{"class":"tile","data-queue":q.queue});t.appendChild(el("h3",{},q.queue));
    var k="q."+q.queue+".";
    t.appendChild(fig(k+"waiting",String(q.waiting),"waiting",q.waiting>0?"warn":""));
    t.appendChild(fig(k+"longest_wait",mmss(q.longest_wait),"longest wait",q.longest_wait>q.sl_seconds?"bad":""));
    var slc=q.service_level===null?"":(q.service_level>=0.8?"good":"bad");
    t.appendChild(fig(k+"service_level",pct(q.service_level),"service level ("+q.sl_seconds+" s, "+q.sl_mode+")",slc));
    var line=el("div",{"class":"small"});
    line.appendChild(document.createTextNode("offered "));line.appendChild(el("span",{"data-k":k+"offered"},String(q.offered)));
    line.appendChild(document.createTextNode(" · answered "));line.appendChild(el("span",{"data-k":k+"answered"},String(q.answered)));
    line.appendChild(document.createTextNode(" · abandoned "));line.appendChild(el("span",{"data-k":k+"abandoned"},String(q.abandoned)));
    t.appendChild(line);
    var st=el("div",{"class":"small"});
    Object.keys(COLORS).forEach(function(s){var n=q.agents[s]||0;if(!n)return;
      var b=el("span",{"class":"st",style:"background:"+COLORS[s]+";margin-right:6px"});
      b.appendChild(document.createTextNode(s+" "));b.appendChild(el("span",{"data-k":k+"agents."+s},String(n)));st.appendChild(b);});
    t.appendChild(st);box.appendChild(t);
  });
}
function bar(snap){
  var svg=document.getElementById("bar");svg.textContent="";
  var W=360,H=220,pad=30,qs=snap.queues,max=1;
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
function today(snap){
  var svg=document.getElementById("today");svg.textContent="";
  var W=360,H=220,pad=30,qs=snap.queues,max=1,series=[["answered","#6fdc8c"],["abandoned","#ff5c5c"]];
  qs.forEach(function(q){max=Math.max(max,q.answered,q.abandoned);});
  svg.appendChild(sv("line",{x1:pad,y1:H-pad,x2:W-10,y2:H-pad,stroke:"#9fb3c8"}));
  var gw=Math.min(100,(W-pad-20)/Math.max(1,qs.length)-14),bw=gw/2;
  qs.forEach(function(q,i){
    var x0=pad+10+i*(gw+14);
    series.forEach(function(s,j){
      var v=q[s[0]],h=(H-2*pad)*v/max,x=x0+j*bw;
      svg.appendChild(sv("rect",{x:x,y:H-pad-h,width:bw-2,height:h,fill:s[1],"data-k":"today."+q.queue+"."+s[0],"data-v":v}));
      svg.appendChild(sv("text",{x:x+bw/2,y:H-pad-h-4,fill:"#fff","text-anchor":"middle","font-size":"12"},String(v)));
    });
    svg.appendChild(sv("text",{x:x0+gw/2,y:H-pad+15,fill:"#9fb3c8","text-anchor":"middle","font-size":"12"},q.queue));
  });
  series.forEach(function(s,j){svg.appendChild(sv("rect",{x:W-110,y:8+j*18,width:12,height:12,fill:s[1]}));
    svg.appendChild(sv("text",{x:W-92,y:18+j*18,fill:"#e8eef2","font-size":"12"},s[0]));});
}
function pie(snap){
  var svg=document.getElementById("pie");svg.textContent="";
  var counts={},total=0;snap.agents.forEach(function(a){counts[a.state]=(counts[a.state]||0)+1;total++;});
  var cx=110,cy=110,r=90,angle=-Math.PI/2,ly=20;
  Object.keys(COLORS).forEach(function(s){
    var n=counts[s]||0;if(!n)return;
    var frac=n/total,a2=angle+frac*2*Math.PI;
    var shape;
    if(frac>=0.9999){shape=sv("circle",{cx:cx,cy:cy,r:r,fill:COLORS[s]});}
    else{var x1=cx+r*Math.cos(angle),y1=cy+r*Math.sin(angle),x2=cx+r*Math.cos(a2),y2=cy+r*Math.sin(a2);
      shape=sv("path",{d:"M"+cx+","+cy+" L"+x1+","+y1+" A"+r+","+r+" 0 "+(frac>0.5?1:0)+",1 "+x2+","+y2+" Z",fill:COLORS[s]});}
    shape.setAttribute("data-k","pie."+s);shape.setAttribute("data-v",String(n));svg.appendChild(shape);
    svg.appendChild(sv("rect",{x:230,y:ly-10,width:12,height:12,fill:COLORS[s]}));
    svg.appendChild(sv("text",{x:248,y:ly,fill:"#e8eef2","font-size":"13"},s+" ("+n+")"));
    ly+=20;angle=a2;
  });
}
function agents(snap){
  var tb=document.getElementById("agents");tb.textContent="";
  snap.agents.forEach(function(a){
    var tr=el("tr",{"data-agent":a.name}),k="a."+a.name+".";
    tr.appendChild(el("td",{},a.name));
    var td=el("td",{});td.appendChild(el("span",{"class":"st",style:"background:"+(COLORS[a.state]||"#ccc"),"data-k":k+"state"},a.state));tr.appendChild(td);
    tr.appendChild(el("td",{"data-k":k+"reason"},a.reason||""));
    tr.appendChild(el("td",{"data-k":k+"calls"},String(a.calls)));
    tr.appendChild(el("td",{"data-k":k+"talk_time"},mmss(a.talk_time)));
    tr.appendChild(el("td",{},a.queues.join(", ")));
    tb.appendChild(tr);
  });
}
function render(snap){
  tiles(snap);bar(snap);today(snap);pie(snap);agents(snap);
  var s=document.getElementById("status");s.textContent="board time "+mmss(snap.time);s.setAttribute("data-time",String(snap.time));
  document.body.setAttribute("data-rendered","1");
}
function refresh(){
  fetch("/api/snapshot",{cache:"no-store"}).then(function(r){return r.json();}).then(render)
    .catch(function(e){document.getElementById("status").textContent="no data: "+e;});
}
refresh();setInterval(refresh,1000);
</script>
</body></html>
"""
