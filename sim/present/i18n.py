"""Words of the figures, the report and the key-figure table, in Chinese and English.

``text(key, lang)`` returns the string of a message id; ``label(kind, code, lang)``
the readable name of a coordinate value (a service, a bed pool, an attribution
step...). A missing message is an error (a typo must not show up as an empty
title); an unknown coordinate value falls back to the code itself, so a pool or
step added later still shows, if untranslated.
"""

from __future__ import annotations

from typing import Final

LANGS: Final[tuple[str, str]] = ("zh", "en")

_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    # (zh, en)
    # --- generic
    "scenario": ("情景", "scenario"),
    "year": ("年份", "year"),
    "median": ("中位数", "median"),
    "band50": ("50% 区间", "50% band"),
    "band90": ("90% 区间", "90% band"),
    "central": ("中心值", "central"),
    "no_des": (
        "本批次未运行离散事件模拟（DES），无此结果",
        "no discrete-event (DES) results in this batch",
    ),
    "no_data": ("无数据", "no data"),
    # --- population
    "pyramid_title": ("人口金字塔", "Population pyramid"),
    "pyramid_x": (
        "占常住人口比例（%）— 左男右女",
        "share of residents (%) — males left, females right",
    ),
    "pyramid_y": ("年龄（岁；100 = 100岁及以上）", "age (years; 100 = 100+)"),
    "pyramid_base": ("{year}年（基准年）", "{year} (base year)"),
    "pyramid_year": ("{year}年末", "{year} (end of year)"),
    "share65_title": ("65岁及以上人口占比", "Share of residents aged 65 and over"),
    "share65_y": ("占常住人口比例（%）", "share of residents (%)"),
    "births_title": ("每年出生人数", "Births per year"),
    "births_y": ("出生人数（人/年）", "live births per year"),
    # --- demand
    "demand_title": ("服务需求（中位数与不确定性区间）", "Demand by service (median and bands)"),
    "demand_visits_chc": ("社康机构诊疗人次", "Community-centre (社康) visits"),
    "demand_visits_outpatient": ("医院门诊人次", "Hospital outpatient visits"),
    "demand_visits_ed": ("急诊人次", "Emergency-department visits"),
    "demand_ambulance": ("120 急救出车次数", "120 ambulance dispatches"),
    "demand_admissions": ("住院人次", "Hospital admissions"),
    "demand_bed_days": ("住院床日", "Hospital bed-days"),
    "per_year_thousands": ("千/年", "thousands per year"),
    # --- beds
    "occ_dist_title": (
        "每日午夜床位占用率分布（离散事件模拟）",
        "Daily midnight bed occupancy (discrete-event simulation)",
    ),
    "occ_dist_y": ("占用床位 / 可用床位（%）", "occupied / available beds (%)"),
    "occ_risk_title": ("高占用率时间占比（{year}年）", "Share of time at high occupancy ({year})"),
    "occ_ge_85": ("占用率 ≥ 85%", "occupancy ≥ 85%"),
    "occ_ge_95": ("占用率 ≥ 95%", "occupancy ≥ 95%"),
    "occ_full": ("床位全满", "every bed full"),
    "share_of_time": ("时间占比（%）", "share of time (%)"),
    "beds_title": ("所需床位与床位供给", "Beds needed against beds available"),
    "beds_y": ("床位（张）", "beds"),
    "beds_capacity": ("床位供给（年末）", "beds in service (end of year)"),
    "beds_needed_occ": ("所需床位：目标占用率 {occ}", "beds needed at target occupancy {occ}"),
    "beds_needed_wait": (
        "所需床位：候床概率 ≤ {p}",
        "beds needed for P(wait for a bed) ≤ {p}",
    ),
    "each_scenario": ("{values}（依情景）", "{values} (by scenario)"),
    "beds_plan_target": ("规划目标：{year}年 {beds:,.0f} 张", "plan: {beds:,.0f} beds by {year}"),
    # --- system pressure (DES)
    "pressure_title": ("系统压力（离散事件模拟）", "System pressure (discrete-event simulation)"),
    "ed_boarding": ("急诊滞留（入院决定至上床）", "ED boarding (decision to admit → bed)"),
    "hours_mean": ("平均小时数", "mean hours"),
    "elective_deferrals": ("择期住院推迟", "Elective admissions deferred"),
    "persons_per_year": ("人/年", "persons per year"),
    "clinic_unmet": ("社康未满足需求（放弃或转诊）", "Community-clinic unmet demand"),
    "ambulance_delay": ("等待空闲救护车", "Wait for a free ambulance"),
    "minutes_mean": ("平均分钟数", "mean minutes"),
    # --- workforce
    "workforce_title": ("卫生人力与规划目标", "Workforce against the plan's targets"),
    "physicians_per_1000": ("每千常住人口执业（助理）医师数", "Physicians per 1,000 residents"),
    "nurses_per_1000": ("每千常住人口注册护士数", "Nurses per 1,000 residents"),
    "gps_per_10000": ("每万常住人口全科医生数", "GPs per 10,000 residents"),
    "per_1000": ("每千人", "per 1,000 residents"),
    "per_10000": ("每万人", "per 10,000 residents"),
    "target_line": ("规划目标 {value:g}", "plan target {value:g}"),
    "reference_base": ("{year}年水平 {value:.3g}", "{year} level {value:.3g}"),
    # --- attribution
    "waterfall_title_bed_days": ("床日变化的分解：{scenario}", "What changes bed-days: {scenario}"),
    "waterfall_y_bed_days": ("住院床日（千/年）", "bed-days (thousands per year)"),
    "waterfall_title_admissions": (
        "住院人次变化的分解：{scenario}",
        "What changes admissions: {scenario}",
    ),
    "waterfall_y_admissions": ("住院人次（千/年）", "admissions (thousands per year)"),
    "waterfall_start": ("{year}年", "{year}"),
    "waterfall_end": ("{year}年", "{year}"),
    # --- sensitivity
    "sens_title": ("参数敏感性：{output}", "Sensitivity: {output}"),
    "sens_sobol_x": ("Sobol 指数", "Sobol index"),
    "sens_morris_x": ("Morris μ*（输出单位）", "Morris μ* (output units)"),
    "sens_s1": ("一阶指数 S1", "first-order S1"),
    "sens_st": ("总效应指数 ST", "total-order ST"),
    "sens_mu_star": ("μ*", "μ*"),
    "sens_sigma": ("σ（效应的标准差）", "σ (spread of the effects)"),
    "sens_half": ("前一半设计的估计", "first half of the design"),
    # --- the sweep page
    "sweep_title": (
        "龙岗区卫生资源模拟：参数扫描敏感性报告",
        "Longgang health-resource simulation: sensitivity of a sweep",
    ),
    "sweep_design": ("设计", "Design"),
    "sweep_method": ("方法", "method"),
    "sweep_method_sobol": (
        "Sobol 指数（Saltelli 设计，不含二阶项）",
        "Sobol indices (Saltelli design, no second-order terms)",
    ),
    "sweep_method_morris": ("Morris 筛选（基本效应）", "Morris screening (elementary effects)"),
    "sweep_size_sobol": ("基础样本 n = {n}", "base samples n = {n}"),
    "sweep_size_morris": ("轨迹数 r = {n}", "trajectories r = {n}"),
    "sweep_points": ("扫描点", "points"),
    "sweep_replicates": ("每点重复次数", "replicates per point"),
    "sweep_file": ("扫描文件", "sweep file"),
    "sweep_intervals": (
        "区间：{level:.0%} 自助法置信区间（{resamples} 次重抽样，正态近似）",
        "intervals: {level:.0%} bootstrap confidence intervals ({resamples} resamples, "
        "normal approximation)",
    ),
    "sweep_inputs": ("扫描的输入", "Swept inputs"),
    "sweep_input": ("输入（情景键）", "input (scenario key)"),
    "sweep_low": ("下限", "low"),
    "sweep_high": ("上限", "high"),
    "sweep_output": ("输出", "Output"),
    "sweep_index": ("指数", "index"),
    "sweep_half_col": ("前一半设计", "first half"),
    "sweep_conv_settled": (
        "收敛：{half} 与 {whole} 之间指数的最大变化为 {change:.3f}，在容差 {tol:.2f} 以内——"
        "已稳定。",
        "Convergence: the largest change of the indices between {half} and {whole} is "
        "{change:.3f}, within the tolerance of {tol:.2f}: settled.",
    ),
    "sweep_conv_not": (
        "收敛：{half} 与 {whole} 之间指数的最大变化为 {change:.3f}，超过容差 {tol:.2f}——"
        "尚未稳定，请加大设计（n 或 r 加倍）后再下结论。",
        "Convergence: the largest change of the indices between {half} and {whole} is "
        "{change:.3f}, more than the tolerance of {tol:.2f}: not settled; double the design "
        "(n or r) before relying on the ranking.",
    ),
    "sweep_conv_unchecked": (
        "收敛：设计太小（少于 4 个基础样本或轨迹），无法比较前后两半。",
        "Convergence: the design is too small (under 4 base samples or trajectories) to "
        "compare its halves.",
    ),
    "sweep_conv_constant": (
        "该输出在全部扫描点上不变（标准差为 0）：没有可分解的方差。",
        "This output does not change over the sweep's points (standard deviation 0): "
        "there is no variance to apportion.",
    ),
    "sweep_tol_sobol": (
        "（Sobol：S1 与 ST 的绝对变化；容差见 DATA.md SENS-SOBOL-TOL）",
        "(Sobol: absolute change of S1 and ST; tolerance: DATA.md SENS-SOBOL-TOL)",
    ),
    "sweep_tol_morris": (
        "（Morris：μ* 的变化占最大 μ* 的比例；容差见 DATA.md SENS-MORRIS-TOL）",
        "(Morris: change of μ* as a fraction of the largest μ*; tolerance: DATA.md "
        "SENS-MORRIS-TOL)",
    ),
    "sweep_units": ("单位", "units"),
    "sweep_scenario": ("情景", "scenario"),
    "cap_sweep_tornado": (
        "{output}：各输入的敏感性指数（柱），须线为 {level:.0%} 自助法置信区间；"
        "空心点为前一半设计的估计。",
        "{output}: the indices of each input (bars), whiskers their {level:.0%} bootstrap "
        "confidence intervals; open markers the same indices on the first half of the design.",
    ),
    "cap_sweep_scatter": (
        "{output}（{units}）在每个扫描点的取值，对各输入作图。",
        "{output} ({units}) at each point of the sweep, against each input.",
    ),
    "sweep_morris_units": (
        "μ* 与 σ 的单位：输出单位 / 输入的整个扫描范围。",
        "μ* and σ are in output units per the input's whole swept range.",
    ),
    # --- paired differences
    "diff_title": (
        "与基准情景的配对差异（{year}年，{level:.0%} 置信区间）",
        "Difference from the baseline, paired ({year}, {level:.0%} CI)",
    ),
    "diff_x": ("相对基准情景的变化（%）", "change from the baseline scenario (%)"),
    # --- report
    "report_title": (
        "龙岗区卫生资源模拟：情景比较报告",
        "Longgang health-resource simulation: scenario comparison",
    ),
    "report_batch": ("批次", "batch"),
    "report_created": ("生成时间", "created"),
    "report_code": ("代码版本", "code version"),
    "report_seed": ("随机种子", "seed"),
    "report_replicates": ("重复次数", "replicates"),
    "report_des_replicates": ("运行离散事件模拟的重复次数", "replicates that ran the DES"),
    "report_summary": ("要点", "Summary"),
    "report_key_figures": (
        "关键指标与规划目标（{year}年）",
        "Key figures against the plan's targets ({year})",
    ),
    "report_key_figures_each": (
        "关键指标与规划目标（各情景的目标年份）",
        "Key figures against the plan's targets (each scenario's target year)",
    ),
    "report_years_differ": (
        "各情景的规划目标年份不同，各情景的指标均为其本身目标年份的数值：{years}。"
        "与基准情景的差异 Δ 在同一年份比较。",
        "The scenarios' plan target years differ: each scenario's figures are for its own "
        "target year ({years}). Δ compares it with the baseline in that same year.",
    ),
    "list_sep": ("；", "; "),
    "report_year_of": ("{scenario} {year}年", "{scenario} {year}"),
    "report_key_note": (
        "中心值为重复 0（各不确定输入取其中位数）；区间为随机抽样重复的 5%–95% 分位数；"
        "“达标概率”为满足目标的抽样重复所占比例。离散事件模拟（DES）指标显示运行 DES 的各重复的"
        "中位数（每个重复为一次模拟历程）及同样的 90% 区间；Δ 为与基准情景的平均配对差异及其 "
        "95% 置信区间。",
        "Central = replicate 0 (every uncertain input at its median); the range is the "
        "5%–95% quantiles over the randomly drawn replicates; 'P(meets)' is the share of "
        "drawn replicates that meet the target. Discrete-event (DES) figures show the median "
        "over the replicates that ran the DES (each is one simulated history) with the same "
        "90% range; Δ is the mean paired difference from the baseline with its 95% "
        "confidence interval.",
    ),
    "report_assumptions": ("各情景的假设", "Each scenario's assumptions"),
    "report_differs": (
        "与基准情景“{base}”不同的输入：",
        "Inputs that differ from the baseline '{base}':",
    ),
    "report_same_as_base": ("（基准情景）", "(the baseline scenario)"),
    "report_no_differences": ("与基准情景输入相同。", "Same inputs as the baseline."),
    "report_more_differences": ("……另有 {n} 项", "… and {n} more"),
    "report_figures": ("图表", "Figures"),
    "report_confidence": ("数据可信度", "Confidence in the data"),
    "report_confidence_note": (
        "每项关键指标所依赖的主要输入及其在 sim/data/DATA.md 中的可信度等级："
        "A 官方来源；B 转引官方；C 来源不明；D 由 A/B 推算；S 模型假设（待真实数据替换）。",
        "The main inputs behind each key figure and their grade in sim/data/DATA.md: "
        "A official; B secondary report of an official figure; C unclear provenance; "
        "D derived from A/B; S model assumption (to be replaced by real data).",
    ),
    "report_uncertainty": ("不确定性说明", "Uncertainty"),
    "report_provenance": ("来源与复现", "Provenance"),
    "col_figure": ("指标", "figure"),
    "col_scenario": ("情景", "scenario"),
    "col_year": ("年份", "year"),
    "col_central": ("中心值", "central"),
    "col_range": ("90% 区间", "90% range"),
    "col_low": ("5% 分位", "5% quantile"),
    "col_median": ("中位数", "median"),
    "col_high": ("95% 分位", "95% quantile"),
    "col_n": ("样本数", "replicates"),
    "col_target": ("规划目标", "plan target"),
    "col_p_meets": ("达标概率", "P(meets)"),
    "col_diff": ("与基准差异（95% 置信区间）", "vs baseline (95% CI)"),
    "col_unit": ("单位", "unit"),
    "col_inputs": ("主要输入（DATA.md 编号：等级）", "main inputs (DATA.md id: grade)"),
    "col_key": ("代码", "code"),
    "meets_yes": ("达标", "meets"),
    "meets_no": ("未达标", "misses"),
    "none": ("—", "—"),
    # --- key figures (kf_<key> of sim.model.summary.KEY_FIGURES) and their units
    "kf_population": ("常住人口（年末）", "Resident population (end of year)"),
    "kf_share_65plus": ("65岁及以上人口占比", "Share aged 65 and over"),
    "kf_births": ("出生人数", "Births"),
    "kf_life_expectancy": ("人均预期寿命", "Life expectancy at birth"),
    "kf_beds": ("床位数（年末）", "Hospital beds in service (end of year)"),
    "kf_beds_per_1000": ("每千常住人口床位数", "Beds per 1,000 residents"),
    "kf_beds_needed_occupancy": ("所需床位（目标占用率）", "Beds needed at the target occupancy"),
    "kf_beds_needed_wait": ("所需床位（候床概率目标）", "Beds needed for the bed-wait target"),
    "kf_occupancy": ("平均床位占用率", "Mean bed occupancy"),
    "kf_physicians_per_1000": ("每千常住人口执业（助理）医师数", "Physicians per 1,000 residents"),
    "kf_nurses_per_1000": ("每千常住人口注册护士数", "Nurses per 1,000 residents"),
    "kf_nurse_physician_ratio": ("医护比（护士/医师）", "Nurses per physician"),
    "kf_gps_per_10000": ("每万常住人口全科医生数", "GPs per 10,000 residents"),
    "kf_gp_utilisation": ("全科医生服务能力利用率", "社康 demand / GP capacity"),
    "kf_chc_visits": ("社康诊疗人次", "Community-centre (社康) visits"),
    "kf_ed_visits": ("急诊人次", "ED visits"),
    "kf_admissions": ("住院人次", "Hospital admissions"),
    "kf_bed_days": ("住院床日", "Bed-days"),
    "kf_ed_space_gap": ("急诊诊疗位缺口（所需 − 现有）", "ED spaces short (needed − in service)"),
    "kf_ambulance_gap": ("救护车缺口（所需 − 现有）", "Ambulances short (needed − in service)"),
    "kf_des_high_occupancy_days": (
        "全区午夜床位占用率 ≥ 85% 的天数占比（DES）",
        "Days with district midnight occupancy ≥ 85% (DES)",
    ),
    "kf_des_ed_boarding": ("急诊平均滞留时间（DES）", "Mean ED boarding time (DES)"),
    "kf_des_elective_patients_deferred": (
        "择期住院推迟人数（DES）",
        "Elective admissions deferred, patients (DES)",
    ),
    "kf_des_elective_deferral_events": (
        "择期住院推迟次数（DES）",
        "Elective deferral events (DES)",
    ),
    "kf_des_clinic_unmet": ("社康未满足需求（DES）", "Community-clinic requests unmet (DES)"),
    "kf_des_ambulance_within_target": (
        "救护车在响应目标内到达的比例（DES）",
        "Calls reached within the response target (DES)",
    ),
    "unit_thousand_persons": ("千人", "thousand persons"),
    "unit_percent": ("%", "%"),
    "unit_persons_per_year": ("人/年", "persons per year"),
    "unit_events_per_year": ("次/年", "events per year"),
    "unit_years": ("岁", "years"),
    "unit_beds": ("张", "beds"),
    "unit_per_1000": ("每千人", "per 1,000"),
    "unit_per_10000": ("每万人", "per 10,000"),
    "unit_ratio": ("比值", "ratio"),
    "unit_thousand_per_year": ("千/年", "thousand per year"),
    "unit_spaces": ("个", "spaces"),
    "unit_ambulances": ("辆", "ambulances"),
    "unit_hours": ("小时", "hours"),
    # --- report: more columns, captions, summary points, uncertainty
    "col_label": ("情景名称", "scenario label"),
    "col_diff_mean": ("与基准差异（均值）", "difference from baseline (mean)"),
    "col_diff_low": ("差异 95% 置信下限", "difference, lower 95% bound"),
    "col_diff_high": ("差异 95% 置信上限", "difference, upper 95% bound"),
    "col_grades": ("数据等级", "data grades"),
    "col_weakest": ("最低等级", "weakest grade"),
    "report_command": ("命令", "command"),
    "report_libraries": ("软件库版本", "libraries"),
    "point_figure": ("{figure}（{year}年）{value} {unit}", "{figure} ({year}): {value} {unit}"),
    "point_range": ("（90% 区间 {low}–{high}）", " (90% range {low}–{high})"),
    "point_target": ("，目标 {target}：达标概率 {p:.0%}", "; target {target}: met in {p:.0%}"),
    "point_gp": (
        "{year}年社康需求为全科医生服务能力的 {value}%",
        "社康 demand in {year} is {value}% of GP capacity",
    ),
    "point_sep": ("；", ". "),
    "cap_pyramid": (
        "人口金字塔：灰色为基准年，彩色线为各情景目标年份（中心值）。",
        "Population pyramid: the base year in grey, each scenario's target year as a line "
        "(central values).",
    ),
    "cap_population": (
        "65岁及以上人口占比与每年出生人数：线为中位数，深色与浅色带为 50% 与 90% 区间。",
        "Share aged 65+ and births per year: lines are medians, the dark and light bands the "
        "50% and 90% ranges over replicates.",
    ),
    "cap_demand": (
        "各类服务需求（千/年），中位数与 50%、90% 区间；各情景并列。",
        "Demand by service (thousands per year): medians with 50% and 90% bands, scenarios "
        "side by side.",
    ),
    "cap_beds": (
        "所需床位（按目标占用率，带不确定性区间；按候床概率目标，点线）与床位供给及规划目标。",
        "Beds needed (at the target occupancy, with bands; for the bed-wait target, dotted) "
        "against the beds in service and the plan's target.",
    ),
    "cap_waterfall": (
        "床日从基准年到目标年份的变化分解（中心值）：人口规模、老龄化、出生、人均使用增长及各项改革。",
        "What changes bed-days from the base year to the target year (central values): "
        "population size, ageing, births, growth in use per head and each reform.",
    ),
    "cap_differences": (
        "各情景与基准情景的配对差异（同一随机数，逐重复相减），以基准值的百分比表示，"
        "带 95% 置信区间。",
        "Each scenario against the baseline as paired differences (same random numbers, "
        "replicate by replicate), in % of the baseline, with 95% confidence intervals.",
    ),
    "cap_workforce": (
        "卫生人力比例与各情景的规划目标（虚线）；全科医生以基准年水平为参照（点线）。",
        "Workforce ratios against each scenario's plan targets (dashed); GPs against their "
        "base-year level (dotted).",
    ),
    "cap_occupancy": (
        "离散事件模拟的每日午夜床位占用率分布（箱体为四分位，须为 5% 与 95% 分位），"
        "点线为目标占用率（各情景不同时以情景颜色分别绘出）。",
        "Daily midnight bed occupancy in the discrete-event simulation (boxes: quartiles; "
        "whiskers: 5% and 95% quantiles); the dotted line is the target occupancy (in each "
        "scenario's colour where they differ).",
    ),
    "cap_occupancy_risk": (
        "高占用率时间占比：占用率 ≥ 85%、≥ 95% 与床位全满"
        "（柱为各 DES 重复的中位数，须线为 90% 区间）。",
        "Share of time at occupancy ≥ 85%, ≥ 95% and with every bed full (bars: median over "
        "the DES replicates; whiskers: their 90% range).",
    ),
    "cap_pressure": (
        "系统压力：急诊滞留、择期住院推迟人数、社康未满足需求与等待救护车时间（DES；点为各重复的"
        "中位数，须线为 90% 区间）。",
        "System pressure: ED boarding, electives deferred (patients), unmet community-clinic "
        "demand and the wait for an ambulance (DES; markers: median over the replicates, "
        "whiskers: their 90% range).",
    ),
    "unc_ranges": (
        "区间为 {n} 个随机抽样重复的 5%–95% 分位数：每个重复从各自的范围内随机抽取不确定输入"
        "（基准情景共 {k} 项，如生育率、预期寿命、使用率、住院天数与增长率）；中心值为重复 0，"
        "即全部输入取其中位数。",
        "Ranges are the 5%–95% quantiles over {n} replicates, each drawing the uncertain "
        "inputs ({k} in the baseline scenario, such as fertility, life expectancy, use rates, "
        "lengths of stay and growth) at random from their stated ranges; the central value is "
        "replicate 0, with every input at its median.",
    ),
    "unc_sweep": (
        "这是一次参数扫描：区间为全部 {n} 个（扫描点 × 重复）样本的分位数，中心值为其中位数。",
        "This is a parameter sweep: ranges are quantiles over all {n} (point × replicate) "
        "samples, and the central value is their median.",
    ),
    "unc_des": (
        "离散事件模拟的结果（床位占用、急诊滞留、择期推迟、社康未满足需求、救护车等待）"
        "来自 {n} 个重复，"
        "包含到达与住院时间的日常随机波动；重复数少时区间较粗略。",
        "Discrete-event results (occupancy, boarding, deferrals, unmet clinic demand, "
        "ambulance waits) come from {n} replicates and include the day-to-day randomness of "
        "arrivals and stays; with few replicates their ranges are rough.",
    ),
    "unc_des_one": (
        "离散事件模拟只运行了一个重复（中心输入）：其结果为单次模拟，未给出区间。",
        "The discrete-event model ran on one replicate (central inputs): its results are one "
        "simulated history, without a range.",
    ),
    "unc_des_none": (
        "本批次未运行离散事件模拟，报告不含床位占用分布、急诊滞留等结果。",
        "This batch did not run the discrete-event model: the report has no occupancy "
        "distributions, boarding or deferral results.",
    ),
    "unc_paired": (
        "各情景在同一重复中使用相同的随机数，因此情景间差异按重复配对计算，置信区间（95%，t 分布）"
        "远窄于两组独立样本。",
        "Scenarios share random numbers replicate by replicate, so differences between "
        "scenarios are paired, with 95% Student-t confidence intervals far narrower than "
        "those of two independent samples.",
    ),
    "unc_not_covered": (
        "区间未涵盖模型结构的不确定性，也未涵盖超出所列范围的假设误差：尤其是基准人口的年龄结构为合成数据"
        "（POP-5YR-TABLE，等级 S），使用率的年龄形状与住院天数分布为假设"
        "（USE-SHAPE-*、LOS-CV，等级 S）。"
        "获得真实数据后应替换这些输入并重新运行。",
        "The ranges do not cover uncertainty in the model's structure, nor errors in the "
        "assumptions beyond their stated ranges: in particular the base population's age "
        "structure is synthetic (POP-5YR-TABLE, grade S) and the age shapes of use and the "
        "length-of-stay spreads are assumptions (USE-SHAPE-*, LOS-CV, grade S). Replace them "
        "with real data when obtained and run again.",
    ),
}

_LABELS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "service": {
        "chc": ("社康机构", "community centres"),
        "outpatient": ("医院门诊", "hospital outpatients"),
        "ed": ("急诊", "emergency department"),
    },
    "pool": {
        "medicine": ("内科", "medicine"),
        "surgery": ("外科", "surgery"),
        "paediatrics": ("儿科", "paediatrics"),
        "obstetrics": ("产科", "obstetrics"),
        "neonatal": ("新生儿科", "neonatal"),
        "icu": ("重症监护", "ICU"),
        "elderly_care": ("医养结合床位", "elderly care"),
    },
    "step": {
        "population_size": ("人口规模", "population size"),
        "age_structure": ("老龄化（年龄结构）", "ageing (age structure)"),
        "births": ("出生", "births"),
        "growth": ("人均使用增长", "growth in use per head"),
        "flows": ("跨区就医", "cross-boundary flows"),
        "family_doctor": ("家庭医生", "family doctors"),
        "exercise": ("体医融合", "exercise for health"),
        "ed_diversion": ("急诊分流至社康", "ED diversion to 社康"),
        "chc_shift": ("门诊下沉社康", "visits shifted to 社康"),
        "day_surgery": ("日间手术", "day surgery"),
        "pre_admission": ("预住院", "pre-admission"),
        "elderly_care_integration": ("医养结合", "integrated elderly care"),
    },
    "sex": {"male": ("男", "male"), "female": ("女", "female")},
}


def _index(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: allowed {', '.join(LANGS)}")
    return LANGS.index(lang)


def text(key: str, lang: str, **fields: object) -> str:
    """The message ``key`` in ``lang`` ("zh" or "en"), formatted with ``fields``."""
    try:
        message = _MESSAGES[key][_index(lang)]
    except KeyError:
        raise KeyError(f"no message {key!r} in sim.present.i18n") from None
    return message.format(**fields) if fields else message


def label(kind: str, code: str, lang: str) -> str:
    """Readable name of a coordinate value (kind: service, pool, step, sex)."""
    pair = _LABELS.get(kind, {}).get(str(code))
    return pair[_index(lang)] if pair else str(code).replace("_", " ")
