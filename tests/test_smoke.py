def test_login_and_dashboard(client, world, login_as):
    login_as("secretary1")
    resp = client.get("/")
    assert resp.status_code == 200
    assert "青年路社区" in resp.get_data(as_text=True)


def test_unit_pages(client, world, login_as):
    login_as("admin")
    for url in [
        "/units",
        f"/units/{world.unit_a}",
        f"/units/{world.unit_a}/edit",
        "/units/new",
        "/units/import",
        "/admin/users",
        "/admin/audit",
        "/account",
        "/units/export.xlsx",
        "/units/export.csv",
        "/units/import/template.xlsx",
        f"/admin/users/{world.liaison_a}/edit",
        "/admin/users/new",
    ]:
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True)[-2000:])
