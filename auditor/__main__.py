from auditor.cli.interrupt import exit_on_interrupt

with exit_on_interrupt():  # before the imports: Ctrl-C at any time exits 130
    from auditor.cli.main import entry

    entry()
