// Prints, as JSON, the outline of Apex class files: every class (inner ones too) with
// its modifiers and annotations, and its fields and methods with their types. A file
// that does not parse is reported with its line and column, and the exit code is 1.
//
//   node tools/apex-outline.mjs force-app/main/default/classes/*.cls
//
// The parser is @apexdevtools/apex-parser (an ANTLR grammar that follows the platform
// compiler); sfgw's tests read the outline to check the classes against their WSDL.
import { ApexErrorListener, ApexParserFactory } from "@apexdevtools/apex-parser";
import fs from "node:fs";
import path from "node:path";

class Collect extends ApexErrorListener {
  constructor() {
    super();
    this.errors = [];
  }
  apexSyntaxError(line, column, message) {
    this.errors.push({ line, column, message });
  }
}

const kind = (node) => node.constructor.name;
const children = (node) => {
  const out = [];
  for (let i = 0; i < (node.getChildCount ? node.getChildCount() : 0); i++) {
    out.push(node.getChild(i));
  }
  return out;
};
const child = (node, name) => children(node).find((c) => kind(c) === name);
const all = (node, name) => children(node).filter((c) => kind(c) === name);

function modifiers(nodes) {
  const words = nodes.map((m) => m.getText());
  return {
    modifiers: words.filter((w) => !w.startsWith("@")).map((w) => w.toLowerCase()),
    annotations: words.filter((w) => w.startsWith("@")),
  };
}

function outlineClass(declaration, mods, outer) {
  const name = child(declaration, "IdContext").getText();
  const qualified = outer ? `${outer}.${name}` : name;
  const classes = [];
  const members = [];
  for (const body of all(child(declaration, "ClassBodyContext"), "ClassBodyDeclarationContext")) {
    const own = modifiers(all(body, "ModifierContext"));
    const member = child(body, "MemberDeclarationContext");
    if (!member) continue;
    const inner = child(member, "ClassDeclarationContext");
    const method = child(member, "MethodDeclarationContext");
    const field = child(member, "FieldDeclarationContext");
    if (inner) {
      classes.push(...outlineClass(inner, own, qualified));
    } else if (method) {
      const params = [];
      const list = child(child(method, "FormalParametersContext"), "FormalParameterListContext");
      for (const p of list ? all(list, "FormalParameterContext") : []) {
        params.push({
          type: child(p, "TypeRefContext").getText(),
          name: child(p, "IdContext").getText(),
        });
      }
      const returns = child(method, "TypeRefContext");
      members.push({
        member: "method",
        name: child(method, "IdContext").getText(),
        type: returns ? returns.getText() : "void",
        params,
        ...own,
      });
    } else if (field) {
      const type = child(field, "TypeRefContext").getText();
      const declarators = child(field, "VariableDeclaratorsContext");
      for (const d of all(declarators, "VariableDeclaratorContext")) {
        members.push({ member: "field", name: child(d, "IdContext").getText(), type, ...own });
      }
    }
  }
  return [{ name: qualified, ...mods, members }, ...classes];
}

let failed = false;
const files = [];
for (const file of process.argv.slice(2)) {
  const listener = new Collect();
  const { parser } = ApexParserFactory.createLexerAndParser(
    fs.readFileSync(file, "utf8"),
    listener,
  );
  const unit = parser.compilationUnit();
  if (listener.errors.length) {
    failed = true;
    files.push({ file: path.basename(file), errors: listener.errors, classes: [] });
    continue;
  }
  const type = child(unit, "TypeDeclarationContext");
  const declaration = child(type, "ClassDeclarationContext");
  const classes = declaration
    ? outlineClass(declaration, modifiers(all(type, "ModifierContext")), null)
    : [];
  files.push({ file: path.basename(file), errors: [], classes });
}
process.stdout.write(JSON.stringify(files, null, 2) + "\n");
process.exit(failed ? 1 : 0);
