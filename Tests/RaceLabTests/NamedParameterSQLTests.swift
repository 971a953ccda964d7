import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

/// `:name` parameters become `$n`, and only where PostgreSQL would see a parameter.
@Suite struct NamedParameterSQLTests {
    @Test func eachNameIsNumberedOnceInOrderOfFirstUse() throws {
        let sql = try NamedParameterSQL("UPDATE items SET stock = stock - :quantity WHERE id = :item AND stock >= :quantity")
        #expect(sql.positional == "UPDATE items SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
        #expect(sql.parameters == ["quantity", "item"])
    }

    @Test(arguments: [
        ("SELECT :stock::integer - 1", "SELECT $1::integer - 1", ["stock"]),
        ("SELECT 'a :b c' || :d", "SELECT 'a :b c' || $1", ["d"]),
        ("SELECT 'it''s :x', :y", "SELECT 'it''s :x', $1", ["y"]),
        (#"SELECT E'\' :x', :y"#, #"SELECT E'\' :x', $1"#, ["y"]),
        (#"SELECT ":quoted", :y"#, #"SELECT ":quoted", $1"#, ["y"]),
        ("SELECT 1 -- :comment\n, :y", "SELECT 1 -- :comment\n, $1", ["y"]),
        ("SELECT /* :a /* :b */ :c */ :y", "SELECT /* :a /* :b */ :c */ $1", ["y"]),
        ("SELECT $$ :x $$, $tag$ :z $tag$, :y", "SELECT $$ :x $$, $tag$ :z $tag$, $1", ["y"]),
        ("SELECT arr[1:2] FROM t WHERE a = :a_1", "SELECT arr[1:2] FROM t WHERE a = $1", ["a_1"]),
        ("SELECT x$y, :p", "SELECT x$y, $1", ["p"]),
    ])
    func parametersAreFoundOnlyOutsideStringsCommentsAndCasts(sql: String, positional: String, parameters: [String]) throws {
        let compiled = try NamedParameterSQL(sql)
        #expect(compiled.positional == positional)
        #expect(compiled.parameters == parameters)
    }

    @Test func positionalPlaceholdersAreRefused() {
        #expect(throws: NamedParameterSQL.Problem.positionalPlaceholder) { try NamedParameterSQL("SELECT $1") }
    }

    @Test(arguments: ["SELECT 'open", "SELECT \"open", "SELECT /* open", "SELECT $q$ open"])
    func unterminatedTextIsRefused(sql: String) {
        #expect(throws: NamedParameterSQL.Problem.self) { try NamedParameterSQL(sql) }
    }

    @Test func serverMessagesGetTheirNamesBack() throws {
        let compiled = try NamedParameterSQL("SELECT :a, :b, :c, :d, :e, :f, :g, :h, :i, :j")
        #expect(compiled.naming("could not determine data type of parameter $10 and $1") == "could not determine data type of parameter :j and :a")
    }
}
