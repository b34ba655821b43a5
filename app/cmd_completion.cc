// bel completion bash|zsh: a shell completion script generated from the command definitions
// (the same CLI11 app every command line is parsed with), so a new command, flag or status name
// completes without a hand-kept list.
//
//   source <(bel completion bash)                  # in ~/.bashrc
//   source <(bel completion zsh)                   # in ~/.zshrc (through bashcompinit)
#include <map>

#include "app/commands.h"

namespace bel::app {
namespace {

// What completes after each command path ("bel", "bel builds list", "bel activity": bash keys
// cannot be empty, so every path starts with the program's name).
struct Grammar {
  std::map<std::string, std::string> subcommands;  // path -> "list show cancel"
  std::map<std::string, std::string> flags;        // leaf path -> "--limit --status ..."
  std::map<std::string, std::string> values;       // "leaf path|--flag" -> "table json"
  std::map<std::string, bool> takes_value;         // "leaf path|--flag" -> true
};

std::string join_words(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + " " + b;
}

void describe(CLI::App* app, const std::string& path, Grammar& g) {
  auto subs = app->get_subcommands({});
  if (!subs.empty()) {
    std::string names;
    for (auto* sub : subs) {
      names = join_words(names, sub->get_name());
      describe(sub, join_words(path, sub->get_name()), g);
    }
    g.subcommands[path] = names;
    return;
  }
  std::string flags;
  for (auto* opt : app->get_options()) {
    for (const auto& name : opt->get_lnames()) {
      const std::string flag = "--" + name;
      flags = join_words(flags, flag);
      const std::string key = path + "|" + flag;
      g.takes_value[key] = opt->get_expected_max() != 0;  // a flag expects none
      std::string listed;
      for (const auto& c : choices_of(*opt)) listed = join_words(listed, c);
      if (!listed.empty()) g.values[key] = listed;
    }
  }
  g.flags[path] = flags;
}

// A bash associative array literal: declare -gA NAME=(["key"]="value" ...).
template <class Map, class Text>
std::string bash_array(const std::string& name, const Map& entries, Text text) {
  std::string out = "declare -gA " + name + "=(\n";
  for (const auto& [key, value] : entries) {
    out += "  [\"" + key + "\"]=\"" + text(value) + "\"\n";
  }
  return out + ")\n";
}

std::string script(const Grammar& g) {
  auto same = [](const std::string& v) { return v; };
  auto flag = [](bool v) { return std::string(v ? "1" : ""); };
  std::string out =
      "# bel completion for bash, generated from bel's command definitions.\n"
      "# Load it with: source <(bel completion bash)\n";
  out += bash_array("_bel_subcommands", g.subcommands, same);
  out += bash_array("_bel_flags", g.flags, same);
  out += bash_array("_bel_values", g.values, same);
  out += bash_array("_bel_takes_value", g.takes_value, flag);
  out += R"(_bel() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" path="bel" i word
  (( COMP_CWORD > 1 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
  # Walk the words before the cursor: command words extend the path; a flag that takes a value
  # skips its value.
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word="${COMP_WORDS[i]}"
    if [[ "$word" == --* ]]; then
      [[ "$word" != *=* && -n "${_bel_takes_value["$path|$word"]}" ]] && (( i++ ))
    elif [[ -n "${_bel_subcommands["$path"]+set}" ]]; then
      path="$path $word"
    fi
  done
  if [[ "$prev" == --* && -n "${_bel_takes_value["$path|$prev"]}" ]]; then
    local values="${_bel_values["$path|$prev"]}"
    if [[ -n "$values" ]]; then
      COMPREPLY=( $(compgen -W "$values" -- "$cur") )
    else
      COMPREPLY=( $(compgen -f -- "$cur") )
    fi
  elif [[ -n "${_bel_subcommands["$path"]+set}" ]]; then
    COMPREPLY=( $(compgen -W "${_bel_subcommands["$path"]}" -- "$cur") )
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "${_bel_flags["$path"]}" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _bel bel
)";
  return out;
}

}  // namespace

void add_completion_command(CLI::App& app, Context& ctx) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "completion", "Print a shell completion script for bel's commands, flags and status names");
  cmd->footer(
      "Load it in the current shell, or from ~/.bashrc / ~/.zshrc:\n"
      "  source <(bel completion bash)\n"
      "  source <(bel completion zsh)");
  set_choices(cmd->add_option("shell", *shell, "bash or zsh")->required(), {"bash", "zsh"});
  cmd->callback([&ctx, shell] {
    if (*shell != "bash" && *shell != "zsh") {
      return ctx.usage_error("completion: \"" + *shell +
                             "\" is not a shell (expected bash or zsh)");
    }
    // The grammar comes from a fresh app with every command, as `bel` parses them.
    CLI::App full{"bel"};
    Context scratch;
    add_all_commands(full, scratch, /*interactive=*/false);
    Grammar grammar;
    describe(&full, "bel", grammar);
    if (*shell == "zsh") {
      // zsh runs bash completion functions through bashcompinit.
      std::printf(
          "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && "
          "bashcompinit\n");
    }
    std::printf("%s", script(grammar).c_str());
  });
}

}  // namespace bel::app
