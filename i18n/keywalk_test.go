package i18n

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// universe is the module's non-test syntax, with what the walk needs to
// follow a key: functions, constants, package variables and struct fields.
type universe struct {
	fset   *token.FileSet
	module string
	files  []*srcFile
	funcs  map[string][]*srcFunc // by name: functions and methods of every package
	consts map[string]map[string]ast.Expr
	vars   map[string]map[string]ast.Expr
	fields map[string][]valueAt // by field name, every value given to it
	// sinks: per function, the parameter indexes that are keys.
	sinks map[*srcFunc]map[int]bool
}

type srcFile struct {
	path    string // relative to the module
	dir     string // package directory, relative to the module
	ast     *ast.File
	imports map[string]string // local name -> package directory
}

type srcFunc struct {
	file   *srcFile
	decl   *ast.FuncDecl
	params map[string]int
}

// ctx is where an expression stands.
type ctx struct {
	file *srcFile
	fn   *srcFunc // nil at package level
}

type valueAt struct {
	ctx ctx
	v   ast.Expr
}

type site struct {
	ctx ctx
	arg ast.Expr
}

func loadUniverse(t *testing.T, root string) *universe {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	u := &universe{fset: token.NewFileSet(), funcs: map[string][]*srcFunc{}, consts: map[string]map[string]ast.Expr{},
		vars: map[string]map[string]ast.Expr{}, fields: map[string][]valueAt{}, sinks: map[*srcFunc]map[int]bool{}}
	u.module = strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(mod), "\n", 2)[0], "module"))
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != root && err == nil || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir // another module, test data, or hidden
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(u.fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		u.add(&srcFile{path: filepath.ToSlash(rel), dir: filepath.ToSlash(filepath.Dir(rel)), ast: f, imports: map[string]string{}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Seeds: i18n.M's and i18n.T's key parameters; then every function
	// that passes one of its parameters on as a key, until nothing changes.
	for _, fn := range u.funcs["M"] {
		if fn.file.dir == "i18n" && fn.decl.Recv == nil {
			u.sinks[fn] = map[int]bool{0: true}
		}
	}
	for _, fn := range u.funcs["T"] {
		if fn.file.dir == "i18n" && fn.decl.Recv == nil {
			u.sinks[fn] = map[int]bool{1: true}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, s := range u.sinkSites() {
			id, ok := s.arg.(*ast.Ident)
			if !ok || s.ctx.fn == nil {
				continue
			}
			if i, ok := s.ctx.fn.params[id.Name]; ok && !u.sinks[s.ctx.fn][i] {
				if u.sinks[s.ctx.fn] == nil {
					u.sinks[s.ctx.fn] = map[int]bool{}
				}
				u.sinks[s.ctx.fn][i] = true
				changed = true
			}
		}
	}
	return u
}

func (u *universe) add(f *srcFile) {
	u.files = append(u.files, f)
	for _, im := range f.ast.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		if dir, ok := strings.CutPrefix(p, u.module+"/"); ok {
			f.imports[name] = dir
		} else {
			f.imports[name] = "std:" + p
		}
	}
	if u.consts[f.dir] == nil {
		u.consts[f.dir], u.vars[f.dir] = map[string]ast.Expr{}, map[string]ast.Expr{}
	}
	for _, d := range f.ast.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			fn := &srcFunc{file: f, decl: d, params: map[string]int{}}
			i := 0
			for _, p := range d.Type.Params.List {
				for _, n := range p.Names {
					fn.params[n.Name] = i
					i++
				}
				if len(p.Names) == 0 {
					i++
				}
			}
			u.funcs[d.Name.Name] = append(u.funcs[d.Name.Name], fn)
			u.collectFields(ctx{f, fn}, d)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				vs, ok := s.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if d.Tok == token.CONST {
							u.consts[f.dir][n.Name] = vs.Values[i]
						} else {
							u.vars[f.dir][n.Name] = vs.Values[i]
						}
					}
				}
			}
			u.collectFields(ctx{f, nil}, d)
		}
	}
}

// collectFields records every value given to a struct field by name, in a
// keyed composite literal or by assignment.
func (u *universe) collectFields(c ctx, n ast.Node) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.KeyValueExpr:
			if k, ok := n.Key.(*ast.Ident); ok {
				u.fields[k.Name] = append(u.fields[k.Name], valueAt{c, n.Value})
			}
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && len(n.Lhs) == len(n.Rhs) {
					u.fields[sel.Sel.Name] = append(u.fields[sel.Sel.Name], valueAt{c, n.Rhs[i]})
				}
			}
		}
		return true
	})
}

// callees are the functions a call may reach: pkg.F, F in the same package,
// or x.M (a method by name: the package's own, else any exported one).
func (u *universe) callees(c ctx, call *ast.CallExpr) []*srcFunc {
	var dir, name string
	var method bool
	switch f := call.Fun.(type) {
	case *ast.Ident:
		dir, name = c.file.dir, f.Name
	case *ast.SelectorExpr:
		name = f.Sel.Name
		if x, ok := f.X.(*ast.Ident); ok && c.file.imports[x.Name] != "" {
			dir = c.file.imports[x.Name]
		} else {
			dir, method = c.file.dir, true
		}
	default:
		return nil
	}
	var own, other []*srcFunc
	for _, fn := range u.funcs[name] {
		if (fn.decl.Recv != nil) != method {
			continue
		}
		if fn.file.dir == dir {
			own = append(own, fn)
		} else if method && ast.IsExported(name) {
			other = append(other, fn)
		}
	}
	if len(own) > 0 {
		return own
	}
	return other
}

// sinkSites lists every expression used as a key: arguments in a key
// position of a sink and i18n.Msg{Key: …}.
func (u *universe) sinkSites() []site {
	var out []site
	for _, f := range u.files {
		for _, d := range f.ast.Decls {
			var c ctx
			c.file = f
			if fd, ok := d.(*ast.FuncDecl); ok {
				for _, fn := range u.funcs[fd.Name.Name] {
					if fn.decl == fd {
						c.fn = fn
					}
				}
			}
			ast.Inspect(d, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					for _, fn := range u.callees(c, n) {
						for i := range u.sinks[fn] {
							if i < len(n.Args) {
								out = append(out, site{c, n.Args[i]})
							}
						}
						if len(u.sinks[fn]) > 0 {
							break
						}
					}
				case *ast.CompositeLit:
					if u.isMsg(c, n.Type) {
						for _, e := range n.Elts {
							if kv, ok := e.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == "Key" {
								out = append(out, site{c, kv.Value})
							}
						}
					}
				}
				return true
			})
		}
	}
	return out
}

func (u *universe) isMsg(c ctx, t ast.Expr) bool {
	switch t := t.(type) {
	case *ast.Ident:
		return c.file.dir == "i18n" && t.Name == "Msg"
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		return ok && c.file.imports[x.Name] == "i18n" && t.Sel.Name == "Msg"
	}
	return false
}

// eval enumerates the keys e can be. seen breaks cycles (a field or a
// function met again adds nothing).
func (u *universe) eval(c ctx, e ast.Expr, seen map[string]bool) ([]string, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return []string{s}, err
		}
	case *ast.ParenExpr:
		return u.eval(c, e.X, seen)
	case *ast.BinaryExpr:
		return nil, fmt.Errorf("key built by %s: write the keys out as literals", e.Op)
	case *ast.Ident:
		if c.fn != nil {
			if i, ok := c.fn.params[e.Name]; ok {
				if u.sinks[c.fn][i] {
					return nil, nil // passed on: checked at the callers
				}
				return nil, fmt.Errorf("key from parameter %s", e.Name)
			}
			if args, ok := closureArgs(c.fn.decl.Body, e); ok {
				return u.evalAll(c, args, seen)
			}
			if vals := localValues(c.fn.decl.Body, e.Name); len(vals) > 0 {
				return u.evalAll(c, vals, seen)
			}
		}
		if v, ok := u.consts[c.file.dir][e.Name]; ok {
			return u.eval(ctx{c.file, nil}, v, seen)
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && c.file.imports[x.Name] != "" {
			dir := c.file.imports[x.Name]
			if v, ok := u.consts[dir][e.Sel.Name]; ok {
				return u.eval(ctx{u.fileIn(dir), nil}, v, seen)
			}
			break
		}
		if e.Sel.Name == "Key" && c.file.dir == "i18n" {
			return nil, nil // Msg.Key: every Msg{Key: …} is a site of its own
		}
		// A struct field: every value it is ever given (an unexported
		// field's, in its own package).
		id := "field " + e.Sel.Name
		if seen[id] {
			return nil, nil
		}
		seen[id] = true
		var out []string
		n := 0
		for _, va := range u.fields[e.Sel.Name] {
			if !ast.IsExported(e.Sel.Name) && va.ctx.file.dir != c.file.dir {
				continue
			}
			n++
			ks, err := u.eval(va.ctx, va.v, seen)
			if err != nil {
				return nil, fmt.Errorf("field %s: %s: %v", e.Sel.Name, u.fset.Position(va.v.Pos()), err)
			}
			out = append(out, ks...)
		}
		if n == 0 {
			return nil, fmt.Errorf("field %s is never set", e.Sel.Name)
		}
		return out, nil
	case *ast.IndexExpr:
		// An entry of a table of keys, written in place or at package level.
		if lit, ok := e.X.(*ast.CompositeLit); ok {
			return u.evalElements(c, lit, seen)
		}
		if x, ok := e.X.(*ast.Ident); ok {
			if v, ok := u.vars[c.file.dir][x.Name].(*ast.CompositeLit); ok {
				return u.evalElements(ctx{c.file, nil}, v, seen)
			}
		}
	case *ast.CallExpr:
		fns := u.callees(c, e)
		if len(fns) == 0 {
			break
		}
		var out []string
		for _, fn := range fns {
			id := fmt.Sprintf("func %p", fn)
			if seen[id] {
				continue
			}
			seen[id] = true
			var rets []ast.Expr
			ast.Inspect(fn.decl.Body, func(n ast.Node) bool {
				if _, ok := n.(*ast.FuncLit); ok {
					return false
				}
				if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
					rets = append(rets, r.Results[0])
				}
				return true
			})
			if len(rets) == 0 {
				return nil, fmt.Errorf("key from %s, which returns no single value", fn.decl.Name.Name)
			}
			ks, err := u.evalAll(ctx{fn.file, fn}, rets, seen)
			if err != nil {
				return nil, fmt.Errorf("key from %s: %v", fn.decl.Name.Name, err)
			}
			out = append(out, ks...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("key %s cannot be enumerated: make it a literal", types(e))
}

func (u *universe) evalAll(c ctx, es []ast.Expr, seen map[string]bool) ([]string, error) {
	var out []string
	for _, v := range es {
		ks, err := u.eval(c, v, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, ks...)
	}
	return out, nil
}

func (u *universe) evalElements(c ctx, lit *ast.CompositeLit, seen map[string]bool) ([]string, error) {
	var es []ast.Expr
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			e = kv.Value
		}
		es = append(es, e)
	}
	return u.evalAll(c, es, seen)
}

func (u *universe) fileIn(dir string) *srcFile {
	for _, f := range u.files {
		if f.dir == dir {
			return f
		}
	}
	return nil
}

// localValues lists every value a local variable is given in body: by :=,
// =, var, or as the value of a range over a literal.
func localValues(body *ast.BlockStmt, name string) []ast.Expr {
	var out []ast.Expr
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == name && len(n.Lhs) == len(n.Rhs) {
					out = append(out, n.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if id.Name == name && i < len(n.Values) {
					out = append(out, n.Values[i])
				}
			}
		case *ast.RangeStmt:
			if id, ok := n.Value.(*ast.Ident); ok && id.Name == name {
				if lit, ok := n.X.(*ast.CompositeLit); ok {
					out = append(out, lit.Elts...)
				} else {
					out = append(out, n.X) // fails to enumerate, as it should
				}
			}
		}
		return true
	})
	return out
}

// closureArgs: when id is a parameter of a function literal assigned to a
// local variable (b := func(key string) {…}), the arguments every call of
// that variable passes in its place.
func closureArgs(body *ast.BlockStmt, id *ast.Ident) ([]ast.Expr, bool) {
	var name string
	idx := -1
	ast.Inspect(body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		fl, ok := as.Rhs[0].(*ast.FuncLit)
		v, ok2 := as.Lhs[0].(*ast.Ident)
		if !ok || !ok2 || id.Pos() < fl.Body.Pos() || id.Pos() > fl.Body.End() {
			return true
		}
		i := 0
		for _, p := range fl.Type.Params.List {
			for _, n := range p.Names {
				if n.Name == id.Name {
					name, idx = v.Name, i
				}
				i++
			}
		}
		return true
	})
	if idx < 0 {
		return nil, false
	}
	var out []ast.Expr
	ast.Inspect(body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if f, ok := call.Fun.(*ast.Ident); ok && f.Name == name && idx < len(call.Args) {
				out = append(out, call.Args[idx])
			}
		}
		return true
	})
	return out, true
}

func types(e ast.Expr) string { return fmt.Sprintf("(%T)", e) }
