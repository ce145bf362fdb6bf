/* The step player: a traced step, phase by phase, on the network diagram.
 *
 * Every .tg-player holds its data as JSON (engine/report/player.py writes it: the stage, and
 * for each traced step its phases with the values and equations to show). This script only
 * draws them; without it the player stays hidden and the page is the static report.
 * Buttons, the ←/→ keys (on the focused player) and a slider over the traced steps move
 * through it; clicking or focusing a unit, an edge or a bias shows its equation.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var SUB = "₀₁₂₃₄₅₆₇₈₉";
  var GAP_Y = 56, R = 19, TOP = 54;

  function sub(n) {
    return String(n + 1).replace(/\d/g, function (d) { return SUB[+d]; });
  }
  function short(x) {
    if (x === null || x === undefined) return "";
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e4)) return x.toExponential(2);
    return String(Number(x.toPrecision(4)));
  }
  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function colour(value, scale) {
    if (value === null || value === undefined) return "#c7ced8";
    var t = Math.min(Math.abs(value) / (scale || 1), 1);
    var light = Math.round(85 - 45 * t);
    return value >= 0 ? "hsl(212,70%," + light + "%)" : "hsl(4,70%," + light + "%)";
  }

  // the page's words (engine/report/player.py translates them): word("play", {...})
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function Player(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("script.tg-player-data").textContent);
    var words = this.data.words || {};
    this.word = function (key, values) {
      return String(words[key] || key).replace(/\{(\w+)\}/g, function (all, name) {
        return values && values[name] !== undefined ? String(values[name]) : all;
      });
    };
    this.stepIndex = 0;
    this.phaseIndex = 0;
    this.sample = 0;
    this.timer = null;
    this.selected = null;
    this.build();
    this.show();
  }

  Player.prototype.build = function () {
    var self = this, stage = this.data.stage, root = this.root;
    var panel = root.querySelector(".tg-player-ui");
    var w = function (key) { return escapeHtml(self.word(key)); };
    panel.innerHTML =
      '<div class="tg-controls">' +
      '<button type="button" data-act="prev" aria-label="' + w("prev_label") + '">' +
      w("prev") + '</button>' +
      '<button type="button" data-act="play" aria-label="' + w("play_label") + '">' +
      w("play") + '</button>' +
      '<button type="button" data-act="next" aria-label="' + w("next_label") + '">' +
      w("next") + '</button>' +
      '<label>' + w("step") + ' <input type="range" min="0" step="1" aria-label="' +
      w("slider_label") + '"></label>' +
      '<output class="tg-step"></output>' +
      '<label>' + w("follow") + ' <select class="tg-sample" aria-label="' +
      w("follow_label") + '"></select></label></div>' +
      '<p class="tg-phase" aria-live="polite"></p><p class="tg-note"></p>' +
      '<div class="tg-stage"></div>' +
      '<pre class="tg-eq math" aria-live="polite" aria-label="' + w("equation_label") +
      '"></pre>';
    this.controls = {};
    panel.querySelectorAll("button").forEach(function (b) { self.controls[b.dataset.act] = b; });
    this.slider = panel.querySelector("input");
    this.picker = panel.querySelector("select.tg-sample");
    this.picker.addEventListener("change", function () {
      self.sample = +self.picker.value;
      self.show();
    });
    this.slider.max = String(this.data.steps.length - 1);
    this.slider.value = "0";
    this.controls.prev.addEventListener("click", function () { self.move(-1); });
    this.controls.next.addEventListener("click", function () { self.move(1); });
    this.controls.play.addEventListener("click", function () { self.toggle(); });
    this.slider.addEventListener("input", function () {
      self.stepIndex = +self.slider.value;
      self.phaseIndex = 0;
      self.show();
    });
    root.addEventListener("keydown", function (event) {
      // the slider moves over steps itself, the sample list over samples
      if (event.target === self.slider || event.target === self.picker) return;
      if (event.key === "ArrowRight") { self.move(1); event.preventDefault(); }
      if (event.key === "ArrowLeft") { self.move(-1); event.preventDefault(); }
    });

    var columns = stage.columns, tallest = 1;
    var GAP_X = Math.max(110, Math.min(260, 800 / Math.max(columns.length - 1, 1)));
    columns.forEach(function (c) { tallest = Math.max(tallest, c.shown + 1); });
    var width = GAP_X * (columns.length - 1) + 140, height = TOP + GAP_Y * tallest + 40;
    var svg = el("svg", {viewBox: "0 0 " + width + " " + height, width: width,
      role: "group", "aria-label": this.word("network_label")});
    this.svg = svg;
    this.items = {};
    var x = function (c) { return 70 + GAP_X * c; };
    var y = function (c, j) {
      var n = columns[c].shown + (c < columns.length - 1 ? 1 : 0);
      return TOP + GAP_Y * (j + (tallest - n) / 2) + R;
    };
    this.bands = columns.map(function (c, i) {
      var band = el("rect", {x: x(i) - 60, y: 4, width: 120, height: height - 8, rx: 8,
        "class": "tg-band"}, svg);
      var name = el("text", {x: x(i), y: 22, "class": "tg-colname"}, svg);
      name.textContent = c.name === "input" ?
        (c.network ? self.word("network_input", {network: c.network}) : self.word("input")) : c.name;
      if (c.units > c.shown) {
        var more = el("text", {x: x(i), y: height - 14, "class": "tg-more"}, svg);
        more.textContent = self.word("more_units", {count: c.units - c.shown});
      }
      return band;
    });
    var edges = el("g", {}, svg), labels = el("g", {}, svg), nodes = el("g", {}, svg);
    // a small layer's numbers are written on its edges, near their source
    var label = function (key, x1, y1, x2, y2, count) {
      if (count > 9) return;
      self.items[key].text = el("text", {x: x1 + 0.3 * (x2 - x1), y: y1 + 0.3 * (y2 - y1) - 3,
        "class": "tg-wlabel"}, labels);
    };
    stage.layers.forEach(function (layer) {
      var s = layer.source, t = layer.target;
      for (var j = 0; j < columns[t].shown; j++) {
        for (var i = 0; i < columns[s].shown; i++) {
          var key = "e:" + layer.name + ":" + i + ":" + j;
          self.item(key, el("line", {x1: x(s) + R, y1: y(s, i),
            x2: x(t) - R, y2: y(t, j), "class": "tg-edge"}, edges),
            self.word("weight", {layer: layer.name, index: sub(i) + sub(j)}), layer);
          label(key, x(s) + R, y(s, i), x(t) - R, y(t, j), columns[s].shown * columns[t].shown);
        }
        self.item("b:" + layer.name + ":" + j, el("line", {x1: x(s) + 12, y1: y(s, columns[s].shown),
          x2: x(t) - R, y2: y(t, j), "class": "tg-edge tg-bias-edge"}, edges),
          self.word("bias", {layer: layer.name, index: sub(j)}), layer);
      }
      var bias = el("g", {"class": "tg-bias"}, nodes);
      el("rect", {x: x(s) - 12, y: y(s, columns[s].shown) - 12, width: 24, height: 24, rx: 4}, bias);
      el("text", {x: x(s), y: y(s, columns[s].shown) + 5}, bias).textContent = "1";
    });
    columns.forEach(function (c, ci) {
      for (var j = 0; j < c.shown; j++) {
        var g = el("g", {"class": "tg-node"}, nodes);
        el("circle", {cx: x(ci), cy: y(ci, j), r: R}, g);
        var label = c.label + sub(j);
        el("text", {x: x(ci), y: y(ci, j) + 5, "class": "tg-label"}, g).textContent = label;
        var value = el("text", {x: x(ci), y: y(ci, j) + R + 13, "class": "tg-value"}, g);
        self.item("n:" + ci + ":" + j, g, c.name === "input" ? self.word("input_unit", {label: label})
          : self.word("unit", {layer: c.name, label: label}));
        self.items["n:" + ci + ":" + j].value = value;
      }
    });
    root.querySelector(".tg-stage").appendChild(svg);
  };

  Player.prototype.item = function (key, node, label, layer) {
    var self = this;
    node.setAttribute("tabindex", "0");
    node.setAttribute("role", "button");
    node.setAttribute("aria-label", label);
    node.dataset.key = key;
    var title = el("title", {}, node);
    this.items[key] = {node: node, title: title, label: label, layer: layer};
    var pick = function () { self.select(key); };
    node.addEventListener("click", pick);
    node.addEventListener("focus", pick);
    node.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { pick(); event.preventDefault(); }
    });
  };

  Player.prototype.phase = function () {
    return this.data.steps[this.stepIndex].phases[this.phaseIndex];
  };

  Player.prototype.move = function (delta) {
    var phases = this.data.steps[this.stepIndex].phases;
    var next = this.phaseIndex + delta;
    if (next >= phases.length && this.stepIndex < this.data.steps.length - 1) {
      this.stepIndex += 1; next = 0;
    } else if (next < 0 && this.stepIndex > 0) {
      this.stepIndex -= 1; next = this.data.steps[this.stepIndex].phases.length - 1;
    }
    this.phaseIndex = Math.max(0, Math.min(next, this.data.steps[this.stepIndex].phases.length - 1));
    this.show();
    return this.phaseIndex;
  };

  Player.prototype.toggle = function () {
    var self = this;
    if (this.timer) {
      clearInterval(this.timer); this.timer = null;
      this.controls.play.textContent = this.word("play");
      this.controls.play.setAttribute("aria-label", this.word("play_label"));
      return;
    }
    this.controls.play.textContent = this.word("pause");
    this.controls.play.setAttribute("aria-label", this.word("pause_label"));
    this.timer = setInterval(function () {
      var last = self.stepIndex === self.data.steps.length - 1 &&
        self.phaseIndex === self.data.steps[self.stepIndex].phases.length - 1;
      if (last) self.toggle(); else self.move(1);
    }, 1100);
  };

  Player.prototype.value = function (phase, key) {
    var parts = key.split(":");
    if (parts[0] === "n") {
      // going backward a unit shows its gradient where it has one, else its value
      var grad = phase.mode === "grad" ? this.followed(phase.grads[parts[1]]) : null;
      var row = grad || this.followed(phase.nodes[parts[1]]);
      return row ? row[+parts[2]] : undefined;
    }
    if (parts[0] === "e") {
      var matrix = (phase.edges || {})[parts[1]];
      return matrix && matrix[+parts[2]] ? matrix[+parts[2]][+parts[3]] : undefined;
    }
    var bias = (phase.bias || {})[parts[1]];
    return bias ? bias[+parts[2]] : undefined;
  };

  // a column's rows hold one entry per sample: the followed sample's
  Player.prototype.followed = function (rows) {
    return rows ? rows[Math.min(this.sample, rows.length - 1)] : rows;
  };

  Player.prototype.equation = function (phase, key) {
    var text = phase.eq && phase.eq[key];
    return Array.isArray(text) ? text[Math.min(this.sample, text.length - 1)] : text;
  };

  Player.prototype.show = function () {
    var self = this, phase = this.phase(), step = this.data.steps[this.stepIndex];
    var columns = this.data.stage.columns, frozen = phase.frozen || [];
    var count = step.phases.length;
    this.samples(step.samples || 1);
    this.root.dataset.step = String(step.step);
    this.root.dataset.phase = String(this.phaseIndex);
    this.slider.value = String(this.stepIndex);
    this.root.querySelector(".tg-step").textContent = this.word("step_status",
      {step: step.step, index: this.stepIndex + 1, count: this.data.steps.length});
    this.root.querySelector(".tg-phase").textContent = this.word("phase_status",
      {index: this.phaseIndex + 1, count: count, title: phase.title});
    this.root.querySelector(".tg-note").textContent = phase.text || phase.note || "";
    this.bands.forEach(function (band, i) {
      band.classList.toggle("active", phase.active.indexOf(i) >= 0);
      band.classList.toggle("frozen", frozen.indexOf(columns[i].network) >= 0);
    });
    var scales = {};
    Object.keys(phase.edges || {}).forEach(function (name) {
      var most = 0;
      (phase.edges[name] || []).forEach(function (row) {
        row.forEach(function (v) { if (v !== null) most = Math.max(most, Math.abs(v)); });
      });
      ((phase.bias || {})[name] || []).forEach(function (v) {
        if (v !== null) most = Math.max(most, Math.abs(v));
      });
      scales[name] = most;
    });
    Object.keys(this.items).forEach(function (key) {
      var item = self.items[key], v = self.value(phase, key);
      var known = v !== undefined && v !== null;
      item.title.textContent = item.label + (known ? " = " + String(v) : "");
      if (item.value) {
        item.value.textContent = known ? short(v) : "";
        item.node.classList.toggle("empty", v === undefined);
        item.node.classList.toggle("grad", phase.mode === "grad" && known &&
          Boolean(self.followed(phase.grads[key.split(":")[1]])));
        return;
      }
      var layer = item.layer.name, shown = (phase.edges || {})[layer] !== undefined;
      var on = shown && v !== undefined;
      item.node.classList.toggle("dim", !on);
      item.node.setAttribute("tabindex", on ? "0" : "-1");
      item.node.style.stroke = on ? colour(v, scales[layer]) : "";
      var t = on && v !== null && scales[layer] ? Math.abs(v) / scales[layer] : 0;
      item.node.style.strokeWidth = on ? String(1 + 5 * t) : "";
      if (item.text) item.text.textContent = on && v !== null ? short(v) : "";
    });
    this.root.querySelectorAll(".tg-bias").forEach(function (b, i) {
      b.classList.toggle("dim", phase.layer !== undefined &&
        self.data.stage.layers[i].name !== phase.layer && phase.mode !== "update");
    });
    this.controls.prev.disabled = this.stepIndex === 0 && this.phaseIndex === 0;
    this.controls.next.disabled = this.stepIndex === this.data.steps.length - 1 &&
      this.phaseIndex === count - 1;
    this.follow(step.step);
    // a selection stays while the new phase has an equation for it
    var keep = this.selected && this.equation(phase, this.selected);
    this.explain(keep ? this.selected : null);
  };

  // the report's pictures of a step (figure[data-step]) follow the selected step; a step
  // without pictures leaves them all shown
  Player.prototype.follow = function (step) {
    var report = this.root.closest(".tg-report") || document;
    var figures = report.querySelectorAll("figure[data-step]");
    var mine = String(step), any = false;
    figures.forEach(function (f) { if (f.dataset.step === mine) any = true; });
    figures.forEach(function (f) { f.hidden = any && f.dataset.step !== mine; });
  };

  // the sample list offers the step's samples; the followed one stays if the step has it
  Player.prototype.samples = function (count) {
    var picker = this.picker;
    if (picker.options.length !== count) {
      picker.innerHTML = "";
      for (var n = 0; n < count; n++) {
        var option = document.createElement("option");
        option.value = String(n);
        option.textContent = this.word("sample_option", {index: n + 1, count: count});
        picker.appendChild(option);
      }
    }
    this.sample = Math.min(this.sample, count - 1);
    picker.value = String(this.sample);
    picker.disabled = count < 2;
    this.root.dataset.sample = String(this.sample);
  };

  Player.prototype.select = function (key) {
    if (this.selected && this.items[this.selected]) {
      this.items[this.selected].node.classList.remove("selected");
    }
    this.selected = key;
    this.items[key].node.classList.add("selected");
    this.explain(key);
  };

  Player.prototype.explain = function (key) {
    var phase = this.phase(), box = this.root.querySelector(".tg-eq");
    if (key === null) {
      box.textContent = this.equation(phase, "loss") || this.word("hint");
      return;
    }
    var text = this.equation(phase, key);
    if (!text) {
      var v = this.value(phase, key);
      text = this.items[key].label + (v !== undefined && v !== null ? " = " + String(v)
        : this.word("not_part"));
    }
    box.textContent = text;
  };

  function start() {
    document.querySelectorAll(".tg-player").forEach(function (root) {
      if (root.dataset.ready) return;
      root.dataset.ready = "1";
      root.hidden = false;
      root.player = new Player(root);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
