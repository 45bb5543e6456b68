rule fig1:
    input:
        tables=expand(f"{RES}/scores/fig1/p{{p}}.csv", p=FIG1_P),
        crosscheck=crosscheck_input("fig1"),
    output:
        pdf="results/fig1.pdf",
        csv="results/fig1.csv",
    params:
        p=FIG1_P,
        caption=(
            f"scale={SCALE}, data={P['dataset']}, {P['sample_rate']} Hz, "
            f"{P['train']['steps']} steps x batch {P['train']['batch_size']}, BSS Eval v4 ({P['scorer']} scorer) median of medians"
        ),
    conda:
        ENV
    log:
        "results/logs/fig1.log",
    shell:
        "mixlab fig1 --p {params.p} --tables {input.tables:q} --out {output.pdf:q} --csv {output.csv:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"
