FIG1_P = [fmt_p(p) for p in P["fig1"]["p"]]


rule fig1:
    input:
        expand(f"{RES}/scores/fig1/p{{p}}.csv", p=FIG1_P),
    output:
        pdf="results/fig1.pdf",
        csv="results/fig1.csv",
    params:
        p=FIG1_P,
        caption=(
            f"scale={SCALE}, data={P['dataset']}, {P['sample_rate']} Hz, "
            f"{P['train']['steps']} steps x batch {P['train']['batch_size']}, museval v4 median of medians"
        ),
    conda:
        ENV
    log:
        "results/logs/fig1.log",
    shell:
        "mixlab fig1 --p {params.p} --tables {input:q} --out {output.pdf:q} --csv {output.csv:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"
