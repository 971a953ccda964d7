import Hummingbird

/// `GET /openapi.json` and `GET /docs`.
extension APIServer {
    func addDocumentationRoutes(to router: Router<BasicRequestContext>) {
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json))
            )
        }
        router.get("/docs") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: DocsPage.html))
            )
        }
    }
}
