//! `epop-projects` on its own: a project with roles, tasks and a status change against a PostgreSQL database,
//! with no HTTP server.
//!
//! ```text
//! DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/epop_example cargo run -p epop-projects --example board
//! ```
//!
//! Applies EPOP's migrations, adds three people to the `users` directory, and then: Olga creates a project,
//! makes Mia a member and Vic a viewer; Vic may not create a task (the role matrix decides, in the service);
//! Olga and Mia create tasks, Mia finishes hers, and the open tasks are listed by a filter.

use epop_core::id::UserId;
use epop_core::page::PageRequest;
use epop_projects::{
    Actor, NewProject, NewTask, ProjectRole, ProjectTaskFilter, ProjectsError, ProjectsService, TaskChanges,
    TaskStatus,
};
use epop_storage::events::OutboxNotifier;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to a PostgreSQL database the example may migrate"))?;
    epop_storage::migrate::run_pending(&url).await?;
    let pool = epop_storage::db::build_pool(&url, 4)?;
    let person = async |name: &str| -> anyhow::Result<Actor> {
        Ok(Actor {
            id: UserId::from(epop_test_support::add_person(&pool, name).await?),
            global_admin: false,
        })
    };
    let (olga, mia, vic) = (person("Olga").await?, person("Mia").await?, person("Vic").await?);
    let projects = ProjectsService::new(pool.clone(), OutboxNotifier::default());

    let project = projects
        .create_project(
            olga,
            &NewProject {
                name: "Launch".into(),
                description: Some("Everything for the release".into()),
                status: None,
            },
        )
        .await?;
    projects
        .add_member(olga, project.id, mia.id, ProjectRole::Member)
        .await?;
    let project = projects
        .add_member(olga, project.id, vic.id, ProjectRole::Viewer)
        .await?;
    println!("project {} has {} members", project.name, project.members.len());

    let task = |title: &str, assignee: UserId| NewTask {
        title: title.into(),
        description: None,
        status: None,
        assigned_to: Some(assignee),
        due_date: None,
        parent_id: None,
        label_ids: Vec::new(),
        recurrence: None,
    };
    match projects
        .create_task(vic, project.id, &task("Sneaky", vic.id))
        .await
    {
        Err(ProjectsError::Forbidden) => println!("a viewer may not create tasks"),
        other => anyhow::bail!("a viewer created a task: {:?}", other.map(|t| t.id)),
    }
    projects
        .create_task(olga, project.id, &task("Write the notes", olga.id))
        .await?;
    let mine = projects
        .create_task(mia, project.id, &task("Tag the release", mia.id))
        .await?;
    let done = TaskChanges {
        status: Some(TaskStatus::Done),
        ..TaskChanges::default()
    };
    let finished = projects.update_task(mia, mine.id, &done, None).await?;
    println!("{} is now {:?}", finished.title, finished.status);

    let open = ProjectTaskFilter {
        status: Some(TaskStatus::Todo),
        ..ProjectTaskFilter::default()
    };
    let page = projects
        .project_tasks(vic, project.id, &open, &PageRequest::default())
        .await?;
    for task in &page.items {
        println!("still to do: {}", task.title);
    }
    Ok(())
}
