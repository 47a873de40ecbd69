import type { Command } from 'commander';

/** Every command path ('tributary', 'tributary datasets', ...) with its subcommands and options. */
function walk(cmd: Command, path: string, out: Map<string, { subs: string[]; opts: string[] }>): void {
  const subs = cmd.commands.map((c) => c.name());
  const opts = [...cmd.options.flatMap((o) => [o.long, o.short]), '--help'].filter(
    (o): o is string => typeof o === 'string',
  );
  out.set(path, { subs, opts: [...new Set(opts)] });
  for (const c of cmd.commands) walk(c, `${path} ${c.name()}`, out);
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * A completion script for bash or zsh: the command tree is written into the script, so completing
 * never starts node. Regenerate it after upgrading the CLI.
 */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const tree = new Map<string, { subs: string[]; opts: string[] }>();
  walk(program, 'tributary', tree);
  // bash: [key]=value pairs; zsh: key value pairs (its [key]=value form differs between releases).
  const zshTable = (name: string, pick: 'subs' | 'opts') =>
    `${name}=(\n${[...tree].map(([p, v]) => `  ${quote(p)} ${quote(v[pick].join(' '))}`).join('\n')}\n)`;
  const table = (name: string, pick: 'subs' | 'opts') =>
    `${name}=(\n${[...tree].map(([p, v]) => `  [${quote(p)}]=${quote(v[pick].join(' '))}`).join('\n')}\n)`;
  if (shell === 'bash') {
    return `# bash completion for tributary: source it, or put it in ~/.local/share/bash-completion/completions/tributary
declare -gA _tributary_subs _tributary_opts
${table('_tributary_subs', 'subs')}
${table('_tributary_opts', 'opts')}
_tributary() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmdpath=tributary w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    [[ " \${_tributary_subs[$cmdpath]} " == *" $w "* ]] && cmdpath="$cmdpath $w"
  done
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\${_tributary_opts[$cmdpath]}" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "\${_tributary_subs[$cmdpath]}" -- "$cur")
  fi
}
complete -o default -F _tributary tributary
`;
  }
  return `#compdef tributary
# zsh completion for tributary: save as _tributary in a folder of $fpath (then compinit), or source it
typeset -gA _tributary_subs _tributary_opts
${zshTable('_tributary_subs', 'subs')}
${zshTable('_tributary_opts', 'opts')}
_tributary() {
  local cmdpath=tributary w
  for w in \${words[2,CURRENT-1]}; do
    [[ $w == -* ]] && continue
    (( \${\${(s: :)_tributary_subs[$cmdpath]}[(Ie)$w]} )) && cmdpath="$cmdpath $w"
  done
  if [[ \${words[CURRENT]} == -* ]]; then
    compadd -- \${(s: :)_tributary_opts[$cmdpath]}
  else
    compadd -- \${(s: :)_tributary_subs[$cmdpath]}
    _files
  fi
}
if [[ \${funcstack[1]} == _tributary ]]; then
  _tributary "$@" # autoloaded from $fpath by compinit: complete now
elif (( $+functions[compdef] )); then
  compdef _tributary tributary
fi
`;
}
