#include "app/console_lines.h"

#include <algorithm>

#include "app/commands.h"

namespace bel::app {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

Error line_error(const std::string& what, size_t position) {
  return make_error(ErrorCode::invalid_argument,
                    what + " (column " + std::to_string(position + 1) + ")");
}

// The direct subcommand of `node` named `name`, or null. CLI11's get_subcommand throws instead.
const CLI::App* find_subcommand(const CLI::App& node, const std::string& name) {
  auto found =
      node.get_subcommands([&name](const CLI::App* sub) { return sub->get_name() == name; });
  return found.empty() ? nullptr : found.front();
}

void add_subcommand_names(const CLI::App& node, std::string_view prefix,
                          std::vector<std::string>& out) {
  for (const auto* sub : node.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name().compare(0, prefix.size(), prefix) == 0) out.push_back(sub->get_name());
  }
}

}  // namespace

Result<std::vector<std::string>> split_console_line(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size() && is_blank(line[i])) ++i;
  if (i < line.size() && line[i] == '#') return words;

  std::string word;
  bool in_word = false;  // distinguishes an empty quoted word ("") from no word at all
  while (i < line.size()) {
    const char c = line[i];
    if (is_blank(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
    } else if (c == '\\') {
      if (i + 1 == line.size()) return line_error("the line ends in a lone backslash", i);
      word += line[i + 1];
      in_word = true;
      i += 2;
    } else if (c == '\'') {
      const size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) return line_error("unterminated single quote", i);
      word.append(line.substr(i + 1, close - i - 1));
      in_word = true;
      i = close + 1;
    } else if (c == '"') {
      const size_t open = i++;
      for (;;) {
        if (i == line.size()) return line_error("unterminated double quote", open);
        if (line[i] == '"') break;
        if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
          ++i;
        }
        word += line[i++];
      }
      in_word = true;
      ++i;  // the closing quote
    } else {
      word += c;
      in_word = true;
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::vector<std::string> complete_console_word(const CLI::App& commands,
                                               const std::vector<std::string>& builtins,
                                               const std::vector<std::string>& before,
                                               std::string_view prefix) {
  std::vector<std::string> out;
  if (before.empty()) {
    for (const auto& b : builtins) {
      if (b.compare(0, prefix.size(), prefix) == 0) out.push_back(b);
    }
    add_subcommand_names(commands, prefix, out);
  } else {
    // `help builds li` completes like `builds li`, without options.
    const bool help = before.front() == "help";
    const CLI::App* node = &commands;
    bool at_node = true;  // every word so far named a subcommand: `prefix` may name the next
    for (size_t k = help ? 1 : 0; k < before.size(); ++k) {
      const CLI::App* sub = at_node ? find_subcommand(*node, before[k]) : nullptr;
      if (sub == nullptr) {
        at_node = false;
        // An unknown first word is not a command: nothing can follow it sensibly.
        if (node == &commands) return out;
        continue;
      }
      node = sub;
    }
    const CLI::Option* flag = nullptr;
    if (!help && node != &commands && before.back().rfind("--", 0) == 0) {
      for (const auto* option : node->get_options()) {
        for (const auto& name : option->get_lnames()) {
          if (before.back() == "--" + name) flag = option;
        }
      }
    }
    if (flag != nullptr && flag->get_expected_max() != 0) {
      // The flag's value: one of its choices, if it lists them.
      for (const auto& choice : choices_of(*flag)) {
        if (choice.compare(0, prefix.size(), prefix) == 0) out.push_back(choice);
      }
    } else if (!prefix.empty() && prefix.front() == '-') {
      if (help || node == &commands) return out;
      for (const auto* option : node->get_options()) {
        for (const auto& name : option->get_lnames()) {
          std::string flag = "--" + name;
          if (flag.compare(0, prefix.size(), prefix) == 0) out.push_back(std::move(flag));
        }
      }
    } else if (at_node) {
      add_subcommand_names(*node, prefix, out);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace bel::app
